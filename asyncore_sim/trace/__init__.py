"""Traces: every I/O event and every dispatcher callback of a run, in order.

One home for what a run leaves behind and what can be done with it:

* :mod:`._format`: the trace file format (events, ``Trace``, what a
  recording can hold, checked as a trace is read); its docstring documents
  the format;
* :mod:`._values`: the spelling of values, and the one encoding of call
  arguments and readiness that recording and replay share;
* :mod:`._compare`: the first differing event of two traces, and a report;
* :mod:`._recorder`: :class:`Recorder`, a wrapper that records a run on any
  network (real, fake, or a replay), keeping every event, the last N, or
  streaming them to a file; :mod:`._records` holds its event store and
  writers;
* :mod:`._replay`: :class:`ReplayNetwork`, a recording played back as a
  network, deterministically;
* :mod:`.scenario`: scenario files (ports, names, timelines, faults) and the
  documented runs they reproduce; :mod:`._scenario_file` reads and checks
  them.

Every reader here (traces, scenarios) checks its input as it reads it and
reports what it cannot use as ``file:line: what is wrong``
(:class:`TraceFormatError`, ``ScenarioError``).

This layer sits on the core and on the networks; the testing toolkit and the
command line sit on it.
"""

from __future__ import annotations

from asyncore_sim.trace._compare import Difference, first_difference, format_difference
from asyncore_sim.trace._format import (
    CALLBACKS,
    FORMAT_VERSION,
    Trace,
    TraceEvent,
    TraceFormatError,
    check_event as check_event,
    parse_line,
)
from asyncore_sim.trace._values import (
    Addr as Addr,
    Err as Err,
    addr_value as addr_value,
    format_value,
    letters_mask as letters_mask,
    mask_letters as mask_letters,
    parse_readiness as parse_readiness,
    parse_value as parse_value,
    readiness_text as readiness_text,
    shutdown_args as shutdown_args,
    size_args as size_args,
    socket_args as socket_args,
    sockopt_args as sockopt_args,
)
from asyncore_sim.trace._recorder import (
    IncompleteTrace,
    Recorder,
    TracingPoller as TracingPoller,
    TracingSocket as TracingSocket,
)
from asyncore_sim.trace._replay import ReplayDiverged, ReplayNetwork

__all__ = [
    "TraceEvent",
    "Trace",
    "TraceFormatError",
    "Recorder",
    "IncompleteTrace",
    "ReplayNetwork",
    "ReplayDiverged",
    "Difference",
    "first_difference",
    "format_difference",
    "format_value",
    "parse_line",
    "CALLBACKS",
    "FORMAT_VERSION",
]
