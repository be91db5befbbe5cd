"""Moved to :mod:`asyncore_sim.trace.scenario`.

This name keeps working: it is the same module object.
"""

import sys

from asyncore_sim.trace import scenario as _moved

sys.modules[__name__] = _moved
