"""The value syntax of scenario lines: times (``5ms``), quoted strings and
bytes, whole numbers and ports, fault rules (``fault NAME key=value ...``)
and epochs, each checked with a :class:`ScenarioError` that names the file
and line (``_scenario_file`` reads the lines and calls these).

Rules: deterministic (no clock, no random source); values are read as what
they are declared to be, never coerced.
"""

from __future__ import annotations

import math
import re
import typing
from typing import Any, Dict, List, Union

import attrs

from asyncore_sim.trace._values import _unescape

__all__ = ["ScenarioError", "MAX_TIME", "filler"]

#: The latest ``at`` time: a day, FakeNetwork's default ``max_time``.
MAX_TIME = 86_400.0


class ScenarioError(ValueError):
    """A scenario file that cannot be used; the message names file and line."""



def filler(n: int) -> bytes:
    """The ``send N`` filler: N bytes of a repeating printable pattern."""
    pattern = b"asyncore-sim filler 0123456789\n"
    return (pattern * (n // len(pattern) + 1))[:n]


_TIME = re.compile(r"^(\d{1,12}(?:\.\d{0,12})?|\.\d{1,12})(us|ms|s)$")
_UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0}
_ENDPOINT = re.compile(r"^([^\s:#]+):(\d{1,9})(?:#(\d{1,9}))?$")


def _clip(s: str, n: int = 60) -> str:
    return s if len(s) <= n else s[: n - 3] + "..."


def _parse_time(token: str, where: str) -> float:
    m = _TIME.match(token)
    if not m:
        raise ScenarioError(
            "%s: bad time %r (expected a number with us, ms or s, e.g. 5ms)"
            % (where, _clip(token))
        )
    t = round(float(m.group(1)) * _UNITS[m.group(2)], 9)
    if t > MAX_TIME:
        raise ScenarioError(
            "%s: time %s is past a day (%gs), the network's max_time"
            % (where, token, MAX_TIME)
        )
    return t


def _quoted(token: str, where: str) -> str:
    if len(token) < 2 or token[0] != '"' or token[-1] != '"':
        raise ScenarioError(
            '%s: expected a quoted value ("..."), got %s' % (where, _clip(token))
        )
    try:
        return _unescape(token[1:-1])
    except ValueError as e:
        raise ScenarioError("%s: %s" % (where, e)) from None


def _quoted_bytes(token: str, where: str) -> bytes:
    value = _quoted(token, where)
    wide = next((c for c in value if ord(c) > 0xFF), None)
    if wide is not None:
        raise ScenarioError(
            "%s: bytes values take \\xNN escapes: U+%04X is not a byte"
            % (where, ord(wide))
        )
    return value.encode("latin-1")


_QTOKEN = re.compile(r'"(?:[^"\\]|\\.)*"(?=\s|$)|/(?:[^/\\]|\\.)*/(?=\s|$)|\S+')


def _tokens(line: str) -> List[str]:
    return _QTOKEN.findall(line)


def _int(token: str, where: str, what: str) -> int:
    if not re.fullmatch(r"[-+]?\d{1,30}", token):
        raise ScenarioError(
            "%s: %s must be a whole number, got %r" % (where, what, _clip(token))
        )
    return int(token)


def _port(token: str, where: str, what: str = "a port") -> int:
    port = _int(token, where, what)
    if not 1 <= port <= 65535:
        raise ScenarioError(
            "%s: %s must be within 1..65535, got %d" % (where, what, port)
        )
    return port


# -- fault rules ---------------------------------------------------------------------
#
# A rule's settings are read as the rule declares them (its attrs fields'
# types), so that ``max_bytes=abc`` or ``sizes="9,0"`` is an error that says
# what was expected, never a value of another type.


class _BadValue(Exception):
    pass


_NUMBER = re.compile(r"[-+]?(\d{1,30}(\.\d*)?|\.\d+)([eE][-+]?\d{1,3})?")


def _describe(hint: Any) -> str:
    origin, inner = typing.get_origin(hint), typing.get_args(hint)
    if origin is Union:
        rest = [a for a in inner if a is not type(None)]
        return "%s or none" % _describe(rest[0])
    if origin is tuple:
        return (
            "a tuple of items that are each %s, written with commas and no "
            "spaces: 9,0 or (9,0) (() for none)" % _describe(inner[0])
        )
    return {
        int: "a whole number",
        float: "a number",
        bool: "true or false",
        bytes: 'quoted bytes ("!" or "\\x00")',
        str: "a word",
    }.get(hint, "a value a scenario cannot write")


def _convert(text: str, hint: Any, where: str) -> Any:
    origin, inner = typing.get_origin(hint), typing.get_args(hint)
    if origin is Union and type(None) in inner:
        if text in ("none", "None"):
            return None
        return _convert(text, [a for a in inner if a is not type(None)][0], where)
    if origin is tuple and len(inner) == 2 and inner[1] is Ellipsis:
        body = text[1:-1] if text.startswith("(") and text.endswith(")") else text
        body = body[:-1] if body.endswith(",") and body != "," else body
        items = body.split(",") if body else []
        return tuple(_convert(item, inner[0], where) for item in items)
    if hint is bool and text in ("true", "True", "false", "False"):
        return text in ("true", "True")
    if hint is int and re.fullmatch(r"[-+]?\d{1,30}", text):
        return int(text)
    if hint is float and _NUMBER.fullmatch(text) and math.isfinite(float(text)):
        return float(text)
    if hint is bytes and text.startswith('"'):
        return _quoted_bytes(text, where)
    if hint is str and text.startswith('"'):
        return _quoted(text, where)
    if hint is str and re.fullmatch(r"[A-Za-z0-9_.:-]+", text):
        return text
    raise _BadValue()


def _settings(cls: type) -> Dict[str, Any]:
    """The settings a scenario may give ``cls``: name -> declared type."""
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in attrs.fields(cls) if f.init}


def _exception_text(e: BaseException) -> str:
    # attrs' validators pass (message, attribute, ...) as the arguments.
    return e.args[0] if e.args and isinstance(e.args[0], str) else str(e)


def _fault_classes() -> Dict[str, Any]:
    """The fault rules a scenario may name: the stream rules of
    ``fake_net._faults`` and the datagram rules of ``_datagram_faults``."""
    from fake_net import _datagram_faults, _faults

    out: Dict[str, Any] = {}
    for module in (_faults, _datagram_faults):
        for n in module.__all__:
            cls = getattr(module, n)
            if (
                isinstance(cls, type)
                and issubclass(cls, _faults.Fault)
                and cls is not _faults.Fault
                and cls is not _datagram_faults.DatagramFault
            ):
                out[n] = cls
    return out


def _make_fault(tokens: List[str], where: str) -> Any:
    import fake_net

    name = tokens[0]
    classes = _fault_classes()
    cls = classes.get(name)
    if cls is None:
        known = sorted(classes)
        raise ScenarioError(
            "%s: unknown fault %r (known: %s)" % (where, _clip(name), ", ".join(known))
        )
    own = _settings(cls)
    own.pop("match", None)
    matching = _settings(fake_net.Match)
    kwargs: Dict[str, Any] = {}
    match: Dict[str, Any] = {}
    for item in tokens[1:]:
        key, sep, text = item.partition("=")
        if not sep:
            raise ScenarioError(
                "%s: expected key=value after the fault name, got %r"
                % (where, _clip(item))
            )
        if key in kwargs or key in match:
            raise ScenarioError("%s: %s: %s given twice" % (where, name, key))
        hint = own.get(key, matching.get(key))
        if hint is None:
            raise ScenarioError(
                "%s: %s: unknown setting %r (its settings: %s)"
                % (where, name, _clip(key), ", ".join(list(own) + list(matching)))
            )
        try:
            value = _convert(text, hint, where)
        except _BadValue:
            raise ScenarioError(
                "%s: %s: %s must be %s, got %s"
                % (where, name, key, _describe(hint), _clip(text))
            ) from None
        if key == "port" and value is not None and not 1 <= value <= 65535:
            raise ScenarioError(
                "%s: %s: port must be within 1..65535, got %d" % (where, name, value)
            )
        (match if key in matching else kwargs)[key] = value
    try:
        if match:
            kwargs["match"] = fake_net.Match(**match)
        return cls(**kwargs)
    except (TypeError, ValueError) as e:
        raise ScenarioError("%s: %s: %s" % (where, name, _exception_text(e))) from None


# -- reading a scenario ------------------------------------------------------------



def _epoch(token: str, where: str, usage: str) -> float:
    """Seconds since 1970 (``1700000000``, ``1e9``) or a UTC date and time
    (``2024-05-01T12:00:00Z``), as ``time.time()`` at virtual time 0."""
    import datetime
    import math

    try:
        value = float(token)
    except ValueError:
        text = token[:-1] + "+00:00" if token.endswith("Z") else token
        try:
            when = datetime.datetime.fromisoformat(text)
        except ValueError:
            raise ScenarioError(
                "%s: %s, got %r" % (where, usage, _clip(token))
            ) from None
        if when.utcoffset() != datetime.timedelta(0):
            raise ScenarioError(
                "%s: epoch %s: give the time in UTC (a Z at the end)" % (where, token)
            )
        value = when.replace(tzinfo=datetime.timezone.utc).timestamp()
    if not math.isfinite(value) or value < 0:
        raise ScenarioError(
            "%s: epoch must be a time at or after 1970-01-01, got %r"
            % (where, _clip(token))
        )
    return value


def _file_name(name: str, where: str) -> str:
    parts = name.split("/")
    if name.startswith("/") or "\\" in name or any(p in ("", ".", "..") for p in parts):
        raise ScenarioError(
            "%s: file NAME must be a relative path inside the run directory "
            "(no '..', '.', leading '/' or '\\'), got %r" % (where, _clip(name))
        )
    return name
