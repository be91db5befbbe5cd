"""The recorded-stdlib machinery itself (tests/stdlib_ref.py).

Answers survive the trip through JSON with their types, so that on Python
3.12+ a recorded answer compares with the package's exactly as the live one
did on 3.11; and the recorded data covers what the suite asks.
"""

from __future__ import annotations

import json
import socket

import pytest
import stdlib_ref
from stdlib_ref import decode, encode


@pytest.mark.parametrize("value", [
    None, True, 0, -7, 2.5, "text", b"\x00\xff\r\n", bytearray(b"ab"),
    (1, (2, b"x")), [1, [2, "y"]], {"k": (1, 2), 3: [b"v"], (4, 5): None},
    frozenset({"warning"}), {b"a", b"b"}, [("data", "bytes", b"ok"), ("found", 0)],
])
def test_round_trip_keeps_types(value: object) -> None:
    data = json.loads(json.dumps(encode(value)))
    back = decode(data)
    assert back == value
    assert type(back) is type(value)
    assert repr(back) == repr(value) or isinstance(value, (set, frozenset, dict))


def test_int_enums_are_recorded_as_their_value() -> None:
    assert encode(socket.AF_INET) == int(socket.AF_INET)
    assert decode(encode((socket.AF_INET, socket.SOCK_STREAM))) == (
        socket.AF_INET, socket.SOCK_STREAM)


@pytest.mark.parametrize("value", [object(), memoryview(b"x"), int, [KeyError]])
def test_other_types_are_refused(value: object) -> None:
    with pytest.raises(TypeError, match="cannot record"):
        encode(value)


def test_the_recorded_data_is_there_and_python_311s() -> None:
    with open(stdlib_ref.DATA, encoding="utf-8") as f:
        data = json.load(f)
    assert data["python"].startswith("3.11.")
    answers = data["answers"]
    assert len(answers) > 500
    files = {key.split("::")[0] for key in answers}
    assert {"test_asynchat.py", "test_dispatcher.py", "test_loop.py",
            "test_surface.py", "test_demo_http_client.py"} <= files
    # Every key names a test (or a module-level description) and an index.
    assert all("#" in key or key.endswith("::describe") for key in answers)
