"""Fixtures shared by the test modules."""

from __future__ import annotations

import contextlib
import json
import os
from typing import Any, Dict, Iterator

import pytest

pytest.register_assert_rewrite("stdlib_ref")

import stdlib_ref  # noqa: E402

import asyncore_sim  # noqa: E402


@pytest.fixture(autouse=True)
def _stdlib_answers(request: pytest.FixtureRequest) -> None:
    """Number the stdlib answers a test asks for (see tests/stdlib_ref.py)."""
    stdlib_ref.begin_test(request.node.nodeid)


def pytest_sessionfinish(session: pytest.Session) -> None:
    """While tests/record_stdlib.py records, write the answers collected."""
    path = os.environ.get(stdlib_ref.RECORD_ENV)
    if path and stdlib_ref.recorded_now:
        worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
        with open("%s.%s" % (path, worker), "w", encoding="utf-8") as f:
            json.dump(stdlib_ref.recorded_now, f)


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
