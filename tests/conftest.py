"""Fixtures shared by the test modules."""

from __future__ import annotations

import contextlib
from typing import Any, Dict, Iterator

import pytest
from stdlib_ref import SKIP_REASON, STD_ASYNCORE

import asyncore_sim


@pytest.fixture
def std() -> Any:
    """The stdlib asyncore, for side-by-side comparisons."""
    if STD_ASYNCORE is None:
        pytest.skip(SKIP_REASON)
    return STD_ASYNCORE


@pytest.fixture
def amap() -> Iterator[Dict[Any, Any]]:
    """A private socket map, emptied (every channel closed) afterwards."""
    m: Dict[Any, Any] = {}
    yield m
    asyncore_sim.close_all(m)


@pytest.fixture
def res() -> Iterator[contextlib.ExitStack]:
    """An ExitStack for sockets and other resources a test opens."""
    with contextlib.ExitStack() as stack:
        yield stack
