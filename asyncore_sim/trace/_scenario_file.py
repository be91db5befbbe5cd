"""Reading scenario files: the one place a scenario is read and checked.

The format is documented in :mod:`asyncore_sim.trace.scenario`.  Every
problem is a :class:`ScenarioError` whose message starts with
``file:line:`` (``file:`` alone where no line applies), raised as the file is
read, so that nothing later (building the network, running the program,
comparing its output) meets a value it cannot use.

Rules: reading is deterministic (no clock, no random source); values are
read as what they are declared to be, never coerced.
"""

from __future__ import annotations

import ipaddress
import os
import re
from typing import Any, Callable, Dict, List, Optional, Tuple

import attrs

from asyncore_sim.trace._format import control_character, read_text
from asyncore_sim.trace._scenario_values import (  # noqa: F401 (re-exported)
    ScenarioError,
    MAX_TIME,
    filler,
    _clip,
    _parse_time,
    _quoted,
    _quoted_bytes,
    _tokens,
    _int,
    _port,
    _BadValue,
    _describe,
    _convert,
    _settings,
    _exception_text,
    _fault_classes,
    _make_fault,
    _epoch,
    _file_name,
    _TIME,
    _UNITS,
    _ENDPOINT,
    _QTOKEN,
)

__all__ = [
    "Scenario",
    "ScenarioError",
    "Mask",
    "Action",
    "load_scenario",
    "filler",
    "NORMALIZATIONS",
    "MAX_SEND_BYTES",
    "MAX_SCRIPT_BYTES",
    "MAX_TIME",
    "MAX_STEPS",
    "MAX_SCENARIO_FILE",
]

#: The largest ``send N`` of a scenario's timeline (1 MiB).
MAX_SEND_BYTES = 1 << 20
#: The most bytes a scenario's timeline may script in all (16 MiB).
MAX_SCRIPT_BYTES = 16 << 20
#: The steps (waits and sleeps) a scenario's run may take unless its
#: ``max-steps`` line says otherwise, and the most that line may allow.
MAX_STEPS = 10_000
MAX_STEPS_LIMIT = 1_000_000
#: The largest scenario file read (16 MiB).
MAX_SCENARIO_FILE = 16 << 20


#: The declared normalizations: what a document's rendering changed that
#: is not output.  They apply to the program's output before comparing.
NORMALIZATIONS = {
    "crlf": "CRLF becomes LF (001 and 004 dropped the CR of the HTTP requests)",
    "trailing-space": "spaces and tabs at the end of a line are dropped (004's "
    "renderer dropped one; its blocks show 255 characters for a 256-byte read)",
}


@attrs.frozen
class Mask:
    text: str
    regex: str
    why: str
    line: int


@attrs.frozen
class Action:
    time: float
    host: str
    port: int
    conn: int
    action: str
    data: bytes
    line: int


@attrs.define
class Scenario:
    path: str
    program: Optional[str] = None
    env: Dict[str, str] = attrs.field(factory=dict)
    files: List[Tuple[str, str]] = attrs.field(factory=list)
    seed: int = 0
    ports: Optional[List[int]] = None
    names: Dict[str, str] = attrs.field(factory=dict)
    faults: List[Any] = attrs.field(factory=list)
    servers: List[Tuple[str, int, int]] = attrs.field(factory=list)
    actions: List[Action] = attrs.field(factory=list)
    expect: Optional[str] = None
    trace: Optional[str] = None
    normalize: List[str] = attrs.field(factory=list)
    masks: List[Mask] = attrs.field(factory=list)
    source: Optional[Dict[str, str]] = None
    max_steps: int = MAX_STEPS
    #: The cost model (a fake_net ``Cost``), None when the scenario has none.
    cost: Optional[Any] = None
    #: ``time.time()`` at virtual time 0 (None: fake_net's DEFAULT_EPOCH).
    epoch: Optional[float] = None
    #: Hosts and the links between them (fake_net ``Host``/``HostLink``),
    #: and the timed host verbs: (time, verb, hosts, line).
    hosts: List[Any] = attrs.field(factory=list)
    host_links: List[Any] = attrs.field(factory=list)
    host_events: List[Tuple[float, str, Tuple[str, ...], int]] = attrs.field(
        factory=list
    )
    #: The link table (fake_net ``Link`` values, in file order).
    links: List[Any] = attrs.field(factory=list)
    #: The line of each directive that names one thing (program, expect...).
    lines: Dict[str, int] = attrs.field(factory=dict, eq=False, repr=False)
    #: The path as it was given, which messages name (``path`` is absolute).
    given: str = attrs.field(default="", eq=False, repr=False)

    @property
    def name(self) -> str:
        base = os.path.basename(self.path)
        return base[: -len(".scenario")] if base.endswith(".scenario") else base

    def resolve(self, rel: str) -> str:
        return os.path.normpath(os.path.join(os.path.dirname(self.path), rel))

    def where(self, directive: Any) -> str:
        """``file:line`` of a directive or of a line number (``file`` if the
        scenario lacks the directive), for messages."""
        line = directive if isinstance(directive, int) else self.lines.get(directive)
        name = self.given or self.path
        return name if line is None else "%s:%d" % (name, line)


#: Directives that say one thing, so may appear once.
_ONCE = (
    "program", "seed", "ports", "max-steps", "cost", "epoch", "expect", "trace",
    "source",
)
_DIRECTIVES = (
    "program, env, file, seed, ports, max-steps, cost, epoch, link, host, hostlink, "
    "name, fault, server, at, expect, trace, normalize, mask, source"
)
_LINK_KEYS = {
    "port": "int",
    "conn": "int",
    "latency": "time",
    "latency_to_server": "time",
    "latency_to_client": "time",
    "capacity": "int",
    "capacity_to_server": "int",
    "capacity_to_client": "int",
    "accept_latency": "time",
}
_LINK_USAGE = (
    "link [port=N] [conn=N] [latency=TIME] [capacity=BYTES] [accept_latency=TIME] "
    "(and latency_to_server, latency_to_client, capacity_to_server, "
    "capacity_to_client)"
)
_AT_USAGE = (
    'at TIME HOST:PORT[#K] accept|send N|send "..."|oob "x"|close|reset, or '
    "at TIME partition|heal|hold|release HOST HOST, or at TIME crash|restart HOST"
)
_HOST_USAGE = "host NAME IP[,IP...] [ALIAS ...]"
_HOSTLINK_USAGE = (
    "hostlink HOST HOST [latency=TIME] [jitter=TIME] [bandwidth=BYTES_PER_S]"
)
_SOURCE_USAGE = 'source DOC after "LINE" until "LINE" [indent "PREFIX"]'


class _Reader:
    """Reads one scenario file, a directive per line (one method each)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.scn = Scenario(path=os.path.abspath(path), given=path)
        self.servers: Dict[Tuple[str, int], int] = {}
        self.names: Dict[str, int] = {}
        self.files: Dict[str, int] = {}
        self.scripted = 0  # bytes the timeline sends, in all
        self.where = path
        self.lineno = 0

    def fail(self, message: str) -> ScenarioError:
        return ScenarioError("%s: %s" % (self.where, message))

    def need(self, args: List[str], n: int, usage: str) -> None:
        if len(args) != n:
            raise self.fail("usage: %s" % usage)

    def read(self, text: str) -> Scenario:
        for self.lineno, raw in enumerate(text.split("\n"), start=1):
            self.where = "%s:%d" % (self.path, self.lineno)
            bad = control_character(raw)
            if bad:
                raise self.fail(bad)
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            spans = list(_QTOKEN.finditer(line))
            word, args = spans[0].group(), [m.group() for m in spans[1:]]
            directive: Optional[Callable[[List[str], str], None]] = getattr(
                self, "d_" + word.replace("-", "_"), None
            )
            if directive is None or not re.fullmatch(r"[a-z]+(-[a-z]+)?", word):
                raise self.fail(
                    "unknown directive %r (%s)" % (_clip(word), _DIRECTIVES)
                )
            if word in _ONCE:
                if word in self.scn.lines:
                    raise self.fail(
                        "a second '%s' line (the first is line %d)"
                        % (word, self.scn.lines[word])
                    )
                self.scn.lines[word] = self.lineno
            directive(args, line)
        self.finish()
        return self.scn

    # -- running the program --------------------------------------------------

    def d_program(self, args: List[str], line: str) -> None:
        self.need(args, 1, "program PATH")
        self.scn.program = args[0]

    def d_env(self, args: List[str], line: str) -> None:
        self.need(args, 1, "env NAME=VALUE")
        k, sep, v = args[0].partition("=")
        if not sep or not k:
            raise self.fail("usage: env NAME=VALUE")
        if k in self.scn.env:
            raise self.fail("env %s is set twice" % k)
        self.scn.env[k] = v

    def d_file(self, args: List[str], line: str) -> None:
        self.need(args, 2, "file NAME PATH")
        name = _file_name(args[0], self.where)
        if name in self.files:
            raise self.fail(
                "file %s is already given on line %d" % (name, self.files[name])
            )
        self.files[name] = self.lineno
        if not os.path.isfile(self.scn.resolve(args[1])):
            raise self.fail("no such file: %s" % self.scn.resolve(args[1]))
        self.scn.files.append((name, args[1]))

    # -- the network ----------------------------------------------------------

    def d_seed(self, args: List[str], line: str) -> None:
        self.need(args, 1, "seed N")
        self.scn.seed = _int(args[0], self.where, "the seed")

    def d_ports(self, args: List[str], line: str) -> None:
        if not args:
            raise self.fail("usage: ports N [N ...]")
        self.scn.ports = [_port(a, self.where) for a in args]

    def d_max_steps(self, args: List[str], line: str) -> None:
        self.need(args, 1, "max-steps N")
        n = _int(args[0], self.where, "max-steps")
        if not 1 <= n <= MAX_STEPS_LIMIT:
            raise self.fail(
                "max-steps must be within 1..%d, got %d" % (MAX_STEPS_LIMIT, n)
            )
        self.scn.max_steps = n

    def d_name(self, args: List[str], line: str) -> None:
        self.need(args, 2, "name HOST IP")
        host, ip = args
        try:
            ipaddress.ip_address(ip)
        except ValueError:
            raise self.fail("%r is not an IP address" % _clip(ip)) from None
        if host in self.names:
            raise self.fail(
                "name %s is already given on line %d" % (host, self.names[host])
            )
        self.names[host] = self.lineno
        self.scn.names[host] = ip

    def d_cost(self, args: List[str], line: str) -> None:
        usage = (
            "usage: cost [wait=TIME] [send=TIME] [recv=TIME] (TIME: 20us, 1ms, "
            "0s), or cost loopback"
        )
        if not args:
            raise self.fail(usage)
        from fake_net import Cost

        if args == ["loopback"]:
            self.scn.cost = Cost.loopback()
            return

        quanta: Dict[str, float] = {}
        for item in args:
            key, sep, text = item.partition("=")
            if not sep or key not in ("wait", "send", "recv"):
                raise self.fail("%s, got %r" % (usage, _clip(item)))
            if key in quanta:
                raise self.fail("cost: %s given twice" % key)
            quanta[key] = _parse_time(text, self.where)
        self.scn.cost = Cost(**quanta)

    def d_epoch(self, args: List[str], line: str) -> None:
        usage = (
            "usage: epoch SECONDS | epoch YYYY-MM-DDTHH:MM:SSZ (time.time() "
            "at virtual time 0, UTC)"
        )
        if len(args) != 1:
            raise self.fail(usage)
        self.scn.epoch = _epoch(args[0], self.where, usage)

    def d_link(self, args: List[str], line: str) -> None:
        if not args:
            raise self.fail("usage: %s" % _LINK_USAGE)
        from fake_net import Link

        settings: Dict[str, Any] = {}
        for item in args:
            key, sep, text = item.partition("=")
            kind = _LINK_KEYS.get(key)
            if not sep or kind is None:
                raise self.fail(
                    "link: unknown setting %r (its settings: %s)"
                    % (_clip(item), ", ".join(_LINK_KEYS))
                )
            if key in settings:
                raise self.fail("link: %s given twice" % key)
            if kind == "time":
                settings[key] = _parse_time(text, self.where)
            elif key == "port":
                settings[key] = _port(text, self.where, "link: port")
            else:
                n = _int(text, self.where, "link: " + key)
                if n < (0 if key == "conn" else 1):
                    raise self.fail(
                        "link: %s must be %s, got %d"
                        % (key, "0 or more" if key == "conn" else "1 or more", n)
                    )
                settings[key] = n
        try:
            self.scn.links.append(Link(**settings))
        except ValueError as e:  # pragma: no cover - the checks above come first
            raise self.fail("link: %s" % e) from None

    def d_fault(self, args: List[str], line: str) -> None:
        if not args:
            raise self.fail("usage: fault CLASS [key=value ...]")
        self.scn.faults.append(_make_fault(args, self.where))

    def d_server(self, args: List[str], line: str) -> None:
        self.need(args, 1, "server HOST:PORT")
        m = _ENDPOINT.match(args[0])
        if not m or m.group(3):
            raise self.fail("expected HOST:PORT, got %r" % _clip(args[0]))
        key = (m.group(1), _port(m.group(2), self.where, "the server's port"))
        if key in self.servers:
            raise self.fail(
                "server %s:%d already declared on line %d"
                % (key[0], key[1], self.servers[key])
            )
        self.servers[key] = self.lineno
        self.scn.servers.append((key[0], key[1], self.lineno))

    def d_host(self, args: List[str], line: str) -> None:
        if len(args) < 2:
            raise self.fail("usage: %s" % _HOST_USAGE)
        from fake_net import Host

        try:
            host = Host(args[0], args[1].split(","), tuple(args[2:]))
        except (TypeError, ValueError) as e:
            raise self.fail("host: %s" % _exception_text(e)) from None
        if any(h.name == host.name for h in self.scn.hosts):
            raise self.fail("host %s is declared twice" % host.name)
        self.scn.hosts.append(host)

    def d_hostlink(self, args: List[str], line: str) -> None:
        if len(args) < 2:
            raise self.fail("usage: %s" % _HOSTLINK_USAGE)
        from fake_net import HostLink

        known = [h.name for h in self.scn.hosts]
        for name in args[:2]:
            if name not in known:
                raise self.fail(
                    "hostlink: unknown host %r (declare it with a 'host' line "
                    "first; the hosts are %s)"
                    % (_clip(name), ", ".join(known) or "none")
                )
        settings: Dict[str, Any] = {}
        for item in args[2:]:
            key, sep, text = item.partition("=")
            if not sep or key not in ("latency", "jitter", "bandwidth"):
                raise self.fail("usage: %s, got %r" % (_HOSTLINK_USAGE, _clip(item)))
            if key in settings:
                raise self.fail("hostlink: %s given twice" % key)
            if key == "bandwidth":
                settings[key] = _int(text, self.where, "bandwidth (bytes a second)")
            else:
                settings[key] = _parse_time(text, self.where)
        try:
            link = HostLink(args[0], args[1], **settings)
        except (TypeError, ValueError) as e:
            raise self.fail("hostlink: %s" % _exception_text(e)) from None
        self.scn.host_links.append(link)

    def _host_event(self, t: float, verb: str, hosts: List[str]) -> None:
        from fake_net._hosts import VERBS

        arity = VERBS[verb]
        if len(hosts) != arity:
            raise self.fail(
                "at %s takes %s, got %d" % (verb, "two hosts" if arity == 2
                                            else "one host", len(hosts))
            )
        known = [h.name for h in self.scn.hosts]
        for name in hosts:
            if name not in known:
                raise self.fail(
                    "at %s: unknown host %r (the hosts are %s)"
                    % (verb, _clip(name), ", ".join(known) or "none: declare "
                       "them with 'host' lines")
                )
        if arity == 2 and hosts[0] == hosts[1]:
            raise self.fail("at %s: a host with itself (%s)" % (verb, hosts[0]))
        events = self.scn.host_events
        if events and t < events[-1][0]:
            raise self.fail(
                "time is before the previous host event's (%gs): keep the "
                "timeline in order" % events[-1][0]
            )
        events.append((t, verb, tuple(hosts), self.lineno))

    def d_at(self, args: List[str], line: str) -> None:
        if len(args) < 3:
            raise self.fail("usage: %s" % _AT_USAGE)
        t = _parse_time(args[0], self.where)
        from fake_net._hosts import VERBS

        if args[1] in VERBS:
            self._host_event(t, args[1], args[2:])
            return
        m = _ENDPOINT.match(args[1])
        if not m:
            raise self.fail(
                "expected HOST:PORT or HOST:PORT#K, got %r" % _clip(args[1])
            )
        key = (m.group(1), int(m.group(2)))
        if key not in self.servers:
            raise self.fail("no 'server %s:%d' line before this one" % key)
        conn = int(m.group(3) or 1)
        if conn < 1:
            raise self.fail("connections are numbered from 1")
        action, rest = args[2], args[3:]
        data = b""
        if action in ("accept", "close", "reset"):
            if rest:
                raise self.fail("%s takes no value" % action)
        elif action in ("send", "oob"):
            if len(rest) != 1:
                raise self.fail('%s needs one value: a byte count or "bytes"' % action)
            if rest[0].startswith('"'):
                data = _quoted_bytes(rest[0], self.where)
            elif action == "send":
                data = filler(self.send_count(rest[0]))
            else:
                raise self.fail('oob needs quoted bytes, e.g. oob "!"')
            if not data:
                raise self.fail("%s of nothing" % action)
        else:
            raise self.fail(
                "unknown action %r (accept, send, oob, close, reset)" % _clip(action)
            )
        actions = self.scn.actions
        if actions and t < actions[-1].time:
            raise self.fail(
                "time %s is before the previous 'at' line's (%gs): "
                "keep the timeline in order" % (args[0], actions[-1].time)
            )
        actions.append(Action(t, key[0], key[1], conn, action, data, self.lineno))

    def send_count(self, token: str) -> int:
        n = _int(token, self.where, "the byte count")
        if not 1 <= n <= MAX_SEND_BYTES:
            raise self.fail(
                "send %d: the byte count must be within 1..%d (1 MiB; write "
                "several lines for more)" % (n, MAX_SEND_BYTES)
            )
        self.scripted += n
        if self.scripted > MAX_SCRIPT_BYTES:
            raise self.fail(
                "the timeline scripts more than %d bytes (16 MiB) in all"
                % MAX_SCRIPT_BYTES
            )
        return n

    # -- what it must print ---------------------------------------------------

    def d_expect(self, args: List[str], line: str) -> None:
        self.need(args, 1, "expect PATH")
        self.scn.expect = args[0]

    def d_trace(self, args: List[str], line: str) -> None:
        self.need(args, 1, "trace PATH")
        self.scn.trace = args[0]
        golden = self.scn.resolve(args[0])
        if os.path.exists(golden) and not os.path.isfile(golden):
            raise self.fail("the golden trace %s is not a file" % golden)
        if not os.path.isdir(os.path.dirname(golden)):
            raise self.fail(
                "no folder %s for the golden trace" % os.path.dirname(golden)
            )

    def d_normalize(self, args: List[str], line: str) -> None:
        self.need(args, 1, "normalize crlf|trailing-space")
        if args[0] not in NORMALIZATIONS:
            raise self.fail(
                "unknown normalization %r (known: %s)"
                % (_clip(args[0]), ", ".join(NORMALIZATIONS))
            )
        self.scn.normalize.append(args[0])

    def d_mask(self, args: List[str], line: str) -> None:
        regex = args[1] if len(args) >= 2 else ""
        if len(args) < 3 or len(regex) < 2 or regex[0] != "/" or regex[-1] != "/":
            raise self.fail('usage: mask "TEXT" /REGEX/ WHY')
        masked = _quoted(args[0], self.where)
        if not masked:
            raise self.fail(
                "the masked TEXT is empty: say which text of the expected output "
                "the regex stands for"
            )
        regex = regex[1:-1].replace("\\/", "/")
        try:
            re.compile(regex)
        except (re.error, RecursionError, OverflowError) as e:
            raise self.fail("bad regex /%s/: %s" % (_clip(regex), e)) from None
        why = line[list(_QTOKEN.finditer(line))[2].end() :].strip()
        self.scn.masks.append(Mask(masked, regex, why, self.lineno))

    def d_source(self, args: List[str], line: str) -> None:
        if (
            len(args) not in (5, 7)
            or args[1] != "after"
            or args[3] != "until"
            or (len(args) == 7 and args[5] != "indent")
        ):
            raise self.fail("usage: %s" % _SOURCE_USAGE)
        self.scn.source = {
            "doc": args[0],
            "after": _quoted(args[2], self.where),
            "until": _quoted(args[4], self.where),
            "indent": _quoted(args[6], self.where) if len(args) == 7 else "",
            "line": str(self.lineno),
        }

    # -- the whole file ---------------------------------------------------------

    def finish(self) -> None:
        scn = self.scn
        self.check_servers()
        if scn.program is None:
            raise ScenarioError("%s: no 'program' line" % self.path)
        if not os.path.isfile(scn.resolve(scn.program)):
            raise ScenarioError(
                "%s: program not found: %s"
                % (scn.where("program"), scn.resolve(scn.program))
            )
        if scn.expect is None:
            return
        expect = scn.resolve(scn.expect)
        if not os.path.isfile(expect):
            raise ScenarioError(
                "%s: expected output not found: %s" % (scn.where("expect"), expect)
            )
        expected = read_text(expect, "utf-8", ScenarioError)
        for mask in scn.masks:
            if mask.text not in expected:
                raise ScenarioError(
                    "%s:%d: the masked text does not occur in %s"
                    % (self.path, mask.line, scn.expect)
                )

    def check_servers(self) -> None:
        """Every server's host resolves (an IP address, or a name in the
        table with the scenario's names), and no two share an address."""
        from fake_net import DEFAULT_NAMES

        scn = self.scn
        table = dict(DEFAULT_NAMES)
        table.update(scn.names)
        taken: Dict[Tuple[str, int], int] = {}
        for host, port, line in scn.servers:
            try:
                ip = str(ipaddress.ip_address(host))
            except ValueError:
                if host not in table:
                    raise ScenarioError(
                        "%s: server %s:%d: unknown host %r (not an IP address; "
                        "known names: %s; a 'name HOST IP' line adds one)"
                        % (scn.where(line), host, port, _clip(host), ", ".join(table))
                    ) from None
                ip = table[host]
            if (ip, port) in taken:
                raise ScenarioError(
                    "%s: server %s:%d is %s:%d, already taken on line %d"
                    % (scn.where(line), host, port, ip, port, taken[(ip, port)])
                )
            taken[(ip, port)] = line


def load_scenario(path: str) -> Scenario:
    """Read and check a scenario file (the format: :mod:`.scenario`)."""
    text = read_text(path, "utf-8", ScenarioError, limit=MAX_SCENARIO_FILE)
    return _Reader(path).read(text)


def parse_scenario(path: str, text: str) -> Scenario:
    """Check ``text`` as the scenario file at ``path`` would be (its
    relative names resolved against that folder): a scenario made by a
    tool (``asyncore-sim fit``) is read exactly as the file it would write."""
    return _Reader(path).read(text)
