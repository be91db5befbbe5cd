"""The testing toolkit: run handler code under faults, and check what it did.

* :func:`simulate` (here): one isolated, recorded run under a fault plan;
* :mod:`asyncore_sim.testing.strategies`: Hypothesis strategies for fault plans;
* :mod:`asyncore_sim.testing.stateful`: a state machine driving a client and a
  server on fake_net;
* :mod:`asyncore_sim.testing.segmentation`: the segmentation-invariance checker;
* :mod:`asyncore_sim.testing.pytest_plugin`: fixtures, markers and options.

The old spellings ``asyncore_sim.strategies``, ``asyncore_sim.stateful``,
``asyncore_sim.segmentation`` and ``asyncore_sim.pytest_plugin`` name the
same modules.  This package imports no Hypothesis: pytest loads the plugin,
and with it this module, in every run.
"""

from __future__ import annotations

from asyncore_sim.testing._simulate import (
    NonDeterministicRun,
    Sim,
    SimulationDidNotSettle,
    UnfiredFaultWarning,
    simulate,
)

__all__ = [
    "NonDeterministicRun",
    "Sim",
    "SimulationDidNotSettle",
    "UnfiredFaultWarning",
    "simulate",
]
