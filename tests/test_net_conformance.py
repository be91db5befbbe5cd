"""fake_net.conformance run against both networks: the verified fake.

Every check in ``conformance.CHECKS`` must pass on the operating system's
sockets (``real_net``, marked ``network``) and on the simulated network
(``fake_net``, with two seeds).  On the fake network the checks also must
leave no descriptor open.
"""

from __future__ import annotations

import inspect
from typing import Any, Callable

import pytest

import fake_net
import real_net
from fake_net import conformance


def _real() -> Any:
    return real_net.RealNetwork()


def _fake(seed: int) -> Callable[[], Any]:
    def make() -> Any:
        return fake_net.FakeNetwork(seed=seed)

    return make


NETWORKS = [
    pytest.param(_real, id="real", marks=pytest.mark.network),
    pytest.param(_fake(0), id="fake-seed0"),
    pytest.param(_fake(20240229), id="fake-seed20240229"),
]


@pytest.mark.parametrize("make_net", NETWORKS)
@pytest.mark.parametrize(
    "check", conformance.CHECKS, ids=[c.__name__ for c in conformance.CHECKS]
)
def test_conformance(check: Callable[[Any], None], make_net: Callable[[], Any]) -> None:
    net = make_net()
    check(net)
    if isinstance(net, fake_net.FakeNetwork):
        assert net.open_fds() == [], "the check left descriptors open:\n%s" % (
            net.netstat(),
        )


def test_checks_list_every_check_function() -> None:
    assert conformance.CHECKS, "CHECKS is empty"
    defined = [
        obj
        for name, obj in vars(conformance).items()
        if name.startswith("check_") and inspect.isfunction(obj)
    ]
    names = [f.__name__ for f in conformance.CHECKS]
    assert len(names) == len(set(names)), "a check is listed twice"
    assert sorted(names) == sorted(f.__name__ for f in defined)
    for check in conformance.CHECKS:
        assert check is getattr(conformance, check.__name__)
        assert check.__doc__, "%s has no docstring" % check.__name__
        assert check.__name__ in conformance.__all__


def test_differences_are_described() -> None:
    assert isinstance(conformance.DIFFERENCES, dict)
    assert conformance.DIFFERENCES, "DIFFERENCES is empty"
    for key, text in conformance.DIFFERENCES.items():
        assert isinstance(key, str) and key
        assert isinstance(text, str) and text.strip(), key


def test_conformance_does_not_need_pytest() -> None:
    import importlib
    import pkgutil

    names = [conformance.__name__] + [
        conformance.__name__ + "." + info.name
        for info in pkgutil.iter_modules(conformance.__path__)
    ]
    assert len(names) > 3
    for name in names:
        source = inspect.getsource(importlib.import_module(name))
        assert "import pytest" not in source and "from pytest" not in source, name
