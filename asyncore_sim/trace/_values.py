"""Trace values: the one spelling of every value a trace holds, and of call
arguments and readiness, which recording and replay share.

The syntax is documented with the file format (:mod:`._format`).  Reading a
value is deterministic and says what is wrong with a token that is not one
(ValueError).
"""

from __future__ import annotations

import errno as _errno
import re
import socket as _socket
from typing import Any, Dict, Iterable, List, Tuple

__all__ = [
    "Addr",
    "Err",
    "format_value",
    "parse_value",
    "readiness_text",
    "parse_readiness",
    "mask_letters",
    "letters_mask",
    "socket_args",
    "size_args",
    "sockopt_args",
    "shutdown_args",
    "addr_value",
]


class Addr(tuple):  # type: ignore[type-arg]
    """An address value (``@host:port``, or an AF_INET6 4-tuple
    ``@[host]:port/flowinfo/scope_id``); a plain tuple otherwise.  (An
    AF_UNIX address is its path, a string, or its abstract name, bytes.)"""

    __slots__ = ()


class Err(str):
    """An error value (``!ENAME``)."""

    __slots__ = ()


# -- values ---------------------------------------------------------------------

_BARE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.:,|<>()\[\]-]*$")
_ESC = {0x5C: "\\\\", 0x0A: "\\n", 0x0D: "\\r", 0x09: "\\t"}


def _escape_table(quote: int) -> Dict[int, str]:
    """For str.translate: each byte value (as a latin-1 character) to the
    way a trace writes it inside ``quote``s."""
    table = {}
    for b in range(256):
        if b in _ESC:
            table[b] = _ESC[b]
        elif b == quote:
            table[b] = "\\" + chr(b)
        elif 0x20 <= b < 0x7F:
            continue  # itself
        else:
            table[b] = "\\x%02x" % b
    return table


_ESCAPERS: Dict[int, Tuple[Any, Dict[int, str]]] = {}


def _escape_bytes(data: bytes, quote: int) -> str:
    # C-level passes over the bytes read as latin-1, not a Python loop per
    # byte (saving a trace is part of every failure report): a search for
    # any character that needs escaping, then str.translate.
    escaper = _ESCAPERS.get(quote)
    if escaper is None:
        pattern = re.compile("[^\\x20-\\x7e]|[%s]" % re.escape("\\" + chr(quote)))
        escaper = _ESCAPERS[quote] = (pattern, _escape_table(quote))
    text = bytes(data).decode("latin-1")
    pattern, table = escaper
    if pattern.search(text) is None:
        return text
    return text.translate(table)


def _escape_str(text: str) -> str:
    out = []
    for ch in text:
        c = ord(ch)
        if c < 0x80:
            out.append(_escape_bytes(bytes([c]), 0x27))
        elif c < 0x10000:
            out.append("\\u%04x" % c)
        else:
            out.append("\\U%08x" % c)
    return "".join(out)


def format_value(value: Any) -> str:
    """One value as a trace token (see the module docstring)."""
    if value is None or value is True or value is False:
        return repr(value)
    if isinstance(value, Err):
        return "!" + value
    if isinstance(value, (bytes, bytearray, memoryview)):
        return '"%s"' % _escape_bytes(bytes(value), 0x22)
    if isinstance(value, bool):
        return repr(value)
    if isinstance(value, int):
        return str(int(value))
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, tuple) and len(value) >= 2 and isinstance(value[1], int):
        host = str(value[0])
        if ":" in host:
            host = "[%s]" % host
        if len(value) == 4:  # AF_INET6: (host, port, flowinfo, scope_id)
            return "@%s:%d/%d/%d" % (host, value[1], value[2], value[3])
        return "@%s:%d" % (host, value[1])
    if isinstance(value, str):
        if _BARE.match(value) and _reads_back(value):
            return value
        return "'%s'" % _escape_str(value)
    return "'%s'" % _escape_str(repr(value))


def _reads_back(word: str) -> bool:
    """Whether ``word``, written bare, reads back as that string."""
    try:
        return bool(parse_value(word) == word)
    except ValueError:
        return False


_TOKEN = re.compile(
    r'"(?:[^"\\]|\\.)*"(?=\s|$)'  # bytes
    r"|'(?:[^'\\]|\\.)*'(?=\s|$)"  # str
    r"|\S+"
)
_UNESC = re.compile(
    r"\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|[nrt\\\"']|.?)", re.S
)
_SIMPLE = {"n": "\n", "r": "\r", "t": "\t", "\\": "\\", '"': '"', "'": "'"}
_HEX_DIGITS = {"x": 2, "u": 4, "U": 8}
_KNOWN_ESCAPES = "\\\\ \\\" \\' \\n \\r \\t \\xNN \\uNNNN \\UNNNNNNNN"


def _unescape(body: str) -> str:
    """The text of a quoted value's body; ValueError says which escape is bad."""

    def sub(m: "re.Match[str]") -> str:
        e = m.group(1)
        if len(e) > 1:
            code = int(e[1:], 16)
            if code > 0x10FFFF:
                raise ValueError(
                    "bad escape \\%s: past \\U0010ffff, the last code point" % e
                )
            return chr(code)
        if e in _SIMPLE:
            return _SIMPLE[e]
        if not e:
            raise ValueError(
                "a lone backslash ends the quoted value (write \\\\ for a backslash)"
            )
        if e in _HEX_DIGITS:
            width = _HEX_DIGITS[e]
            got = m.string[m.end() : m.end() + width]
            raise ValueError(
                "bad escape \\%s%s: \\%s takes exactly %d hex digits"
                % (e, got, e, width)
            )
        raise ValueError("unknown escape \\%s (known: %s)" % (e, _KNOWN_ESCAPES))

    return _UNESC.sub(sub, body)


_ADDR6 = re.compile(r"@\[([0-9A-Za-z:.%]*)\]:(\d{1,5})/(\d{1,10})/(\d{1,10})")
_INT = re.compile(r"-?\d{1,4300}")  # int() reads no more digits
_FLOAT = re.compile(r"-?(\d+\.\d*|\.\d+|\d+)(e[-+]?\d+)?|-?inf|nan")
_BYTES_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"')
_STR_TOKEN = re.compile(r"'(?:[^'\\]|\\.)*'")


def _clip_token(token: str, n: int = 40) -> str:
    return token if len(token) <= n else token[: n - 3] + "..."


def parse_value(token: str) -> Any:
    if token.startswith('"'):
        if not _BYTES_TOKEN.fullmatch(token):
            raise ValueError("unterminated bytes value %s" % _clip_token(token))
        text = _unescape(token[1:-1])
        wide = next((c for c in text if ord(c) > 0xFF), None)
        if wide is not None:
            raise ValueError(
                "bytes values take \\xNN escapes: U+%04X is not a byte" % ord(wide)
            )
        return text.encode("latin-1")
    if token.startswith("'"):
        if not _STR_TOKEN.fullmatch(token):
            raise ValueError("unterminated string value %s" % _clip_token(token))
        return _unescape(token[1:-1])
    if token.startswith("!"):
        return Err(token[1:])
    if token.startswith("@"):
        six = _ADDR6.fullmatch(token)
        if six is not None:
            host, port, flow, scope = six.groups()
            if int(port) > 65535:
                raise ValueError("bad address %s (port 0..65535)" % _clip_token(token))
            return Addr((host, int(port), int(flow), int(scope)))
        host, sep, port = token[1:].rpartition(":")
        if not sep or not port.isdigit() or len(port) > 5 or int(port) > 65535:
            raise ValueError(
                "bad address %s (expected @host:port, port 0..65535)"
                % _clip_token(token)
            )
        if host.startswith("[") and host.endswith("]"):
            host = host[1:-1]
        return Addr((host, int(port)))
    if token in ("None", "True", "False"):
        return {"None": None, "True": True, "False": False}[token]
    if _INT.fullmatch(token):
        return int(token)
    if re.fullmatch(r"-?\d+", token):
        raise ValueError("number too long: %s" % _clip_token(token))
    if _FLOAT.fullmatch(token):
        return float(token)
    return token


# -- call arguments, as traces write them ----------------------------------------

_FAMILIES = {
    int(v): k
    for k, v in vars(_socket).items()
    if k.startswith("AF_") and isinstance(v, int)
}
_TYPES = {
    int(_socket.SOCK_STREAM): "SOCK_STREAM",
    int(_socket.SOCK_DGRAM): "SOCK_DGRAM",
}
_LEVELS = {
    int(_socket.SOL_SOCKET): "SOL_SOCKET",
    int(_socket.IPPROTO_TCP): "IPPROTO_TCP",
}
_OPTS = {
    (int(_socket.SOL_SOCKET), int(_socket.SO_ERROR)): "SO_ERROR",
    (int(_socket.SOL_SOCKET), int(_socket.SO_REUSEADDR)): "SO_REUSEADDR",
    (int(_socket.SOL_SOCKET), int(_socket.SO_KEEPALIVE)): "SO_KEEPALIVE",
    (int(_socket.IPPROTO_TCP), int(_socket.TCP_NODELAY)): "TCP_NODELAY",
}
_SHUT = {0: "SHUT_RD", 1: "SHUT_WR", 2: "SHUT_RDWR"}
_MSG_OOB = int(_socket.MSG_OOB)
# Readiness letters: r=IN, x=PRI, w=OUT, e=ERR, h=HUP, n=NVAL.
_LETTERS = ((1, "r"), (4, "w"), (2, "x"), (8, "e"), (16, "h"), (32, "n"))


def mask_letters(mask: int) -> str:
    return "".join(c for bit, c in _LETTERS if mask & bit) or "0"


def letters_mask(text: str) -> int:
    bits = dict((c, bit) for bit, c in _LETTERS)
    if text == "0":
        return 0
    if not text or len(set(text)) != len(text) or not set(text) <= set(bits):
        raise ValueError(
            "bad readiness letters %r (each of r w x e h n at most once, or 0)"
            % text[:20]
        )
    return sum(bits[c] for c in text)


# How a call's arguments appear in a trace: the recorder writes them and the
# replay network matches the program's calls against them, so both use these.


def readiness_text(pairs: Iterable[Tuple[int, int]]) -> str:
    """``fd:letters,...`` for (fd, mask) pairs with a nonzero mask; "0" if none."""
    return ",".join("%d:%s" % (fd, mask_letters(m)) for fd, m in pairs if m) or "0"


_READY_ITEM = re.compile(r"(\d{1,9}):([a-z]+)")


def parse_readiness(text: str) -> List[Tuple[int, int]]:
    """The (fd, mask) pairs of a :func:`readiness_text`; ValueError says
    what is wrong with any other text."""
    if text == "0":
        return []
    pairs = []
    for item in text.split(","):
        m = _READY_ITEM.fullmatch(item)
        if m is None:
            raise ValueError(
                "bad readiness %r: expected fd:letters, separated by commas "
                "(e.g. 3:r,4:rw), or 0" % _clip_token(text)
            )
        pairs.append((int(m.group(1)), letters_mask(m.group(2))))
    return pairs


def socket_args(family: int, type: int) -> Tuple[Any, ...]:
    return (_FAMILIES.get(int(family), int(family)), _TYPES.get(int(type), int(type)))


def size_args(n: int, flags: int) -> Tuple[Any, ...]:
    return (n, "MSG_OOB") if flags & _MSG_OOB else (n,)


def sockopt_args(level: int, optname: int) -> Tuple[Any, ...]:
    return (_LEVELS.get(level, level), _OPTS.get((level, optname), optname))


def shutdown_args(how: int) -> Tuple[Any, ...]:
    return (_SHUT.get(how, how),)


def _err_value(exc: BaseException) -> Err:
    code = getattr(exc, "errno", None)
    if isinstance(exc, OSError) and code is not None:
        return Err(_errno.errorcode.get(code, str(code)))
    return Err(type(exc).__name__)


def addr_value(value: Any) -> Any:
    """An address as a trace keeps it: ``(host, port)``, an AF_INET6
    4-tuple whole, an AF_UNIX path or abstract name as it is."""
    if isinstance(value, tuple) and len(value) == 4:
        return Addr(tuple(value))
    if isinstance(value, tuple) and len(value) >= 2:
        return Addr((value[0], value[1]))
    if isinstance(value, (bytearray, memoryview)):
        return bytes(value)
    return value
