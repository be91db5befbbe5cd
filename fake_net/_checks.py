"""Argument checks shared by fake_net's values (links, hosts): attrs
validators whose ValueError names the value's class and the argument.

Rules: pure functions of their arguments (no clock, no random source).
"""

from __future__ import annotations

import math
from typing import Any, Callable

__all__ = ["seconds"]


def seconds(kind: str, none_ok: bool = False) -> Callable[[Any, Any, Any], None]:
    """A validator for a non-negative finite number of seconds (None too,
    when ``none_ok``): ``kind(name=...) must be ...`` otherwise."""

    def check(instance: Any, attribute: Any, value: Any) -> None:
        if value is None and none_ok:
            return
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or not math.isfinite(value)
            or value < 0
        ):
            raise ValueError(
                "%s(%s=...) must be a non-negative finite number of seconds, got %r"
                % (kind, attribute.name, value)
            )

    return check
