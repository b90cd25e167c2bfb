"""Crash and differential fuzzing of another implementation (`replayfmt fuzz`).

A campaign feeds generated inputs to a target program, one file per run, and records every
crash — killed by a signal, a Rust panic (or sanitizer report), an exit code outside the ones
declared normal, a timeout — with a minimised reproducer and a JSON report. With `compare`
it also records where the target's accepted/rejected verdict (and, when it prints memvid
JSON, its output) disagrees with replayfmt's.

Inputs, in order: the valid seeds; each seed's outer length prefix set to 2^62 and 2^64-1
(the values that break naive readers); then, alternating, the rest of that deterministic
stage (every count and string length, outermost first, set to the same values) and random
stacked `replayfmt.fuzz.mutate` mutations of the seeds. Everything follows `seed`, so a run
is reproducible.

Targets: `CommandTarget('prog --check {file}')`, or `MemvidRecipe(kind)` which drives the
real memvid CLI (a sidecar injected next to a fresh .mv2 then `session end`; a segment
written over the live segment of a template .mv2, or a whole .mv2, then `session list` /
`session view`).
"""

from __future__ import annotations

import json
import random
import re
import shlex
import shutil
import signal as _signal
import struct
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, NamedTuple, Protocol

import attrs

from . import model as M
from .codec import build_active_session, build_segment, parse_active_session, parse_segment
from .errors import ReplayFormatError
from .fuzz import field_map, mutate

__all__ = [
    "Outcome", "CommandTarget", "MemvidRecipe", "Crash", "Campaign", "classify",
    "seed_inputs", "run_campaign", "KINDS", "replayfmt_verdict",
]

KINDS = ("segment", "sidecar", "mv2")
_BOMBS = (2**62, 2**64 - 1)
_PANIC_RE = re.compile(r"panicked at ([^\n]*?):(\d+):(\d+):\n?([^\n]*)")
_NUM_RE = re.compile(r"\d+")


class Outcome(NamedTuple):
    returncode: int | None  # None on timeout; negative = killed by that signal
    timed_out: bool
    stdout: bytes
    stderr: bytes
    seconds: float


def run_argv(argv: list[str], timeout: float, env: Mapping[str, str] | None = None,
             cwd: Path | str | None = None) -> Outcome:
    start = time.monotonic()
    try:
        proc = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True,
                              timeout=timeout, env=env, cwd=cwd)
    except subprocess.TimeoutExpired as exc:
        return Outcome(None, True, exc.stdout or b"", exc.stderr or b"",
                       time.monotonic() - start)
    return Outcome(proc.returncode, False, proc.stdout, proc.stderr, time.monotonic() - start)


def _magnitude(m: re.Match[str]) -> str:
    n = int(m.group())
    return m.group() if n >= 1 << 32 else f"N~2^{n.bit_length()}"


def cause(out: Outcome, normal_exits: Collection[int | None] = (0, 1)
          ) -> tuple[str, str] | None:
    """Like `classify`, but numbers are not all "N": those of 2^32 and more (declared sizes and
    lengths read from the input, e.g. an allocation of 2^62 bytes) stay exact, smaller ones
    (offsets, indexes, which move as the input shrinks) keep their magnitude ("N~2^5"). What
    the minimiser holds fixed: an abort allocating 2^62 bytes does not shrink into one
    allocating 132 GB (another field's value: a different crash under the same signature)."""
    return classify(out, normal_exits, _number=_magnitude)


def classify(out: Outcome, normal_exits: Collection[int | None] = (0, 1), *,
             _number: str | Callable[[re.Match[str]], str] = "N") -> tuple[str, str] | None:
    """(crash class, dedup signature) for a crash, None for a normal run.

    Classes: timeout, signal (killed, e.g. SIGABRT after a failed allocation), sanitizer,
    exception (a Python traceback), panic (a Rust panic message, whatever the exit code),
    exit (code not in normal_exits).
    """
    def num(text: str) -> str:
        return _NUM_RE.sub(_number, text)

    err = out.stderr.decode("utf-8", "replace")
    if out.timed_out:
        return "timeout", "timeout"
    m = _PANIC_RE.search(err)
    if out.returncode is not None and out.returncode < 0:
        try:
            name = _signal.Signals(-out.returncode).name
        except ValueError:
            name = f"signal {-out.returncode}"
        first = next((ln for ln in err.splitlines() if ln.strip()), "")
        return "signal", f"{name}: {num(first)[:120]}"
    if "Sanitizer" in err and "ERROR" in err:
        return "sanitizer", num(err[err.index("ERROR"):].splitlines()[0])[:120]
    if "Traceback (most recent call last):" in err:  # an uncaught Python exception
        last = [ln for ln in err.splitlines() if ln.strip()][-1]
        return "exception", num(last)[:120]
    if m:
        return "panic", f"{m.group(1)}:{m.group(2)}: {num(m.group(4))[:100]}"
    if out.returncode not in normal_exits:
        return "exit", f"exit {out.returncode}"
    return None


# --- targets ---------------------------------------------------------------------------------

#: What a target's run reports besides its outcome: named outputs (memvid's session list).
Extra = dict[str, bytes]


class Target(Protocol):
    """What a campaign runs inputs through (`CommandTarget`, `MemvidRecipe`). A target may
    also have `normal_exits` (exit codes that are not crashes; default 0 and 1) and
    `effective(data)` (the bytes it actually reads, for `compare`)."""

    describe: str

    def setup(self, workdir: Path) -> None: ...

    def run(self, data: bytes, kind: str) -> tuple[Outcome, Extra]: ...

    def materialise(self, data: bytes, kind: str, dest: Path) -> list[Path]: ...


class CommandTarget:
    """A shell-style command template; `{file}` is replaced by the input file's path."""

    def __init__(self, command: str, *, timeout: float = 10.0,
                 normal_exits: Iterable[int] = (0, 1)) -> None:
        if "{file}" not in command:
            raise ValueError("the target command must contain {file}")
        self.command = command
        self.argv = shlex.split(command)
        self.timeout = timeout
        self.normal_exits: tuple[int, ...] = tuple(normal_exits)
        self.describe = command

    def setup(self, workdir: Path) -> None:
        self.workdir = workdir

    def run(self, data: bytes, kind: str) -> tuple[Outcome, Extra]:
        suffix = {"segment": "bin", "sidecar": "mv2.session"}.get(kind, kind)
        path = self.workdir / f"input.{suffix}"
        path.write_bytes(data)
        argv = [a.replace("{file}", str(path)) for a in self.argv]
        return run_argv(argv, self.timeout), {}

    def materialise(self, data: bytes, kind: str, dest: Path) -> list[Path]:
        p = dest / "reproducer.bin"
        p.write_bytes(data)
        return [p]


class MemvidRecipe:
    """The real memvid CLI, driven so that it reads the fuzzed bytes.

    sidecar: a fresh `memvid create` file plus the input as its `.mv2.session`, then
    `session end` (and `session list --format json`). segment: the input written over the live
    segment of a template .mv2 (made once by the CLI with a session whose long name leaves
    room; shorter inputs are zero-padded, longer ones cut to the slot), then `session list
    --format json` and `session view -s ID --format json`. mv2: the input is the .mv2.
    Normal exits: 0, 1 and 4 (memvid's error exits; 4 reports a damaged file); a panic
    exits 101, an allocation failure aborts with SIGABRT.
    """

    #: 1: usage/not found, 4: "Table of contents validation failed"
    normal_exits: tuple[int, ...] = (0, 1, 4)

    def __init__(self, kind: str, *, binary: str | Path | None = None, timeout: float = 10.0,
                 slot_name_len: int = 6000) -> None:
        from .peer import MemvidCLI
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}")
        self.kind = kind
        self.cli = MemvidCLI(binary)
        self.timeout = timeout
        self.slot_name_len = slot_name_len
        self.describe = f"memvid recipe ({kind}): " + {
            "sidecar": "session end FILE.mv2 with the input as FILE.mv2.session",
            "segment": "session list/view on a .mv2 whose live segment is the input",
            "mv2": "session list/view on the input .mv2",
        }[kind]

    def setup(self, workdir: Path) -> None:
        from .peer import MemvidCLI
        self.workdir = workdir
        # memvid's HOME and TMPDIR (its .tmp* dirs) live in the campaign's work dir, removed
        # with it.
        for sub in ("memvid-home", "memvid-tmp"):
            (workdir / sub).mkdir()
        self.cli = MemvidCLI(self.cli.binary, home=workdir / "memvid-home",
                             tmpdir=workdir / "memvid-tmp")
        base = workdir / "base.mv2"
        self.cli.create(base)
        self.base = base.read_bytes()
        if self.kind == "segment":
            tpl = workdir / "template.mv2"
            self.cli.create(tpl)
            self.cli.session_start(tpl, name="s" * self.slot_name_len)
            self.cli.put(tpl, "fuzz template document")
            self.cli.session_end(tpl)
            from .mv2 import live_segment
            data = tpl.read_bytes()
            live = live_segment(data)
            assert live is not None  # the template has a session, so a live segment
            self.template, self.slot = data, (live.offset, live.size)
            self.template_segment = data[live.offset:live.offset + live.size]

    def _memvid(self, *args: str | Path) -> Outcome:
        argv = [str(self.cli.binary), *map(str, args)]
        env = self.cli.environ({"RUST_BACKTRACE": "0"})
        return run_argv(argv, self.timeout, env=env, cwd=self.workdir)

    def effective(self, data: bytes) -> bytes:
        """The bytes memvid reads as the segment (the slot: zero-padded or cut input)."""
        if self.kind != "segment":
            return data
        size = self.slot[1]
        return data[:size] + bytes(max(0, size - len(data)))

    def inject(self, data: bytes) -> bytes:
        if self.kind == "mv2":
            return data
        off, size = self.slot
        seg = data[:size] + bytes(max(0, size - len(data)))
        return self.template[:off] + seg + self.template[off + size:]

    def run(self, data: bytes, kind: str) -> tuple[Outcome, Extra]:
        work = self.workdir / "run.mv2"
        for stale in (work, self.workdir / "run.mv2.session"):
            stale.unlink(missing_ok=True)
        if self.kind == "sidecar":
            work.write_bytes(self.base)
            (self.workdir / "run.mv2.session").write_bytes(data)
            out = self._memvid("session", "end", work)
            if out.returncode != 0:
                return out, {}
            listed = self._memvid("session", "list", work, "--format", "json")
            return (listed if listed.returncode != 0 else out), {"list": listed.stdout}
        work.write_bytes(self.inject(data))
        out = self._memvid("session", "list", work, "--format", "json")
        if out.returncode != 0:
            return out, {}
        extra = {"list": out.stdout}
        try:
            ids = [s["session_id"] for s in json.loads(out.stdout)][:3]
        except (ValueError, TypeError, KeyError):
            ids = []
        for sid in ids:
            view = self._memvid("session", "view", work, "-s", sid, "--format", "json")
            if view.returncode != 0 or classify(view, self.normal_exits):
                return view, extra
        return out, extra

    def materialise(self, data: bytes, kind: str, dest: Path) -> list[Path]:
        names = {"segment": "reproducer.bin", "sidecar": "reproducer.mv2.session",
                 "mv2": "reproducer.mv2"}
        p = dest / names[self.kind]
        p.write_bytes(data)
        paths = [p]
        if self.kind == "segment":
            q = dest / "reproducer-injected.mv2"
            q.write_bytes(self.inject(data))
            paths.append(q)
        elif self.kind == "sidecar":
            q = dest / "reproducer.mv2"
            q.write_bytes(self.base)
            paths.append(q)
        return paths


# --- replayfmt's side ------------------------------------------------------------------------

def _as_memvid_segment(data: bytes) -> M.Segment:
    """Read a segment the way memvid's own reader does: magic and every declared
    session checked; version, total_size and bytes after each record not checked (the
    framing walker's lenient policy)."""
    from .accel import GM
    from .framing import Policy, segment_blocks, segment_header
    lenient = Policy(lenient=True)
    header = segment_header(data, policy=lenient)
    sessions = []
    for i, start, stop in segment_blocks(data, policy=lenient, header=header):
        try:
            sessions.append(GM.parse_ReplaySession(data, start, stop)[0])
        except ReplayFormatError as err:
            raise err.prefix(f"sessions[{i}]") from None
    return M.Segment(header.version, header.session_count, header.total_size, sessions)


def _as_memvid_active(data: bytes) -> M.ActiveSession:
    """An envelope as memvid reads it: bytes after the declared length are not checked."""
    from .accel import GM
    from .framing import envelope_block
    start, stop = envelope_block(data)
    active: M.ActiveSession = GM.parse_ActiveSession(data, start, stop)[0]
    return active


def replayfmt_verdict(data: bytes, kind: str, *, lenient: bool = False
                      ) -> tuple[bool, M.Segment | M.ActiveSession | None, Exception | None]:
    """(accepted, value or None, error or None) by replayfmt's strict parsers, or with
    `lenient` by memvid's own reader's rules (see `_as_memvid_segment`)."""
    try:
        if kind == "segment":
            return True, (_as_memvid_segment(data) if lenient else parse_segment(data)), None
        if kind == "sidecar":
            return True, (_as_memvid_active(data) if lenient else
                          parse_active_session(data)), None
        from .mv2 import live_segment
        live = live_segment(data)
        return True, (live.segment if live else None), None
    except ReplayFormatError as err:
        return False, None, err
    except Exception as err:  # replayfmt must never do this; record it, loudly
        return False, None, err


def _summaries(sessions: Iterable[M.ReplaySession], *, with_end: bool = True
               ) -> list[dict[str, Any]]:
    from .scan import SessionSummary

    out: list[dict[str, Any]] = []
    for s in sessions:
        d = SessionSummary.of(s).listing()
        if not with_end:
            del d["ended_secs"]
        out.append(d)
    return out


def _compare_json(kind: str, value: M.Segment | M.ActiveSession | None, extra: Extra
                  ) -> str | None:
    """A description of how the target's JSON disagrees with replayfmt's, or None."""
    listed = extra.get("list")
    if listed is None or value is None:
        return None
    try:
        theirs = json.loads(listed)
    except ValueError:
        return None
    with_end = kind != "sidecar"  # session end stamps ended_secs with the current time
    sessions = ([value.session] if isinstance(value, M.ActiveSession)  # kind "sidecar"
                else value.sessions)
    ours = _summaries(sessions, with_end=with_end)
    keys = ours[0].keys() if ours else ()
    theirs = [{k: t.get(k) for k in keys} for t in theirs] if isinstance(theirs, list) else theirs
    if theirs != ours:
        return f"session list differs: memvid {theirs!r:.300} vs replayfmt {ours!r:.300}"
    return None


# --- inputs ----------------------------------------------------------------------------------

def _random_session(rng: random.Random, ended: bool) -> M.ReplaySession:
    created = 1_795_629_000 + rng.randrange(10_000)
    acts = []
    for i in range(rng.randrange(0, 4)):
        kind = rng.randrange(3)
        text = rng.choice(("apple", "hello world", "日本語", ""))
        at = (M.Put(2 * i + 2), M.Find(text, "Tantivy", 1), M.Ask(text, "nvidia:m", "nvidia:m"))
        acts.append(M.ReplayAction(i, created + i, at[kind], input_preview=text,
                                   affected_frames=[i]))
    return M.ReplaySession(uuid.UUID(int=rng.getrandbits(128)),
                           rng.choice((None, "", "fuzz")), created,
                           created + 5 if ended else None, [], acts, {}, 1)


def seed_inputs(kind: str, rng: random.Random, n: int = 3) -> list[bytes]:
    """Valid inputs of `kind` (segments and sidecars built from random realistic sessions)."""
    seeds = []
    for _ in range(n):
        if kind == "sidecar":
            seeds.append(build_active_session(M.ActiveSession(_random_session(rng, False))))
        else:
            seeds.append(build_segment([_random_session(rng, True)]))
    return seeds


def _deterministic(seed: bytes) -> list[tuple[bytes, str]]:
    """Every length prefix and count of `seed` set to each bomb value, outermost first."""
    try:
        fields = field_map(seed)
    except (ValueError, LookupError, struct.error, IndexError):
        return []
    order = {"block_len": 0, "count": 1, "len": 2}
    out = []
    for f in sorted((f for f in fields if f.kind in order), key=lambda f: order[f.kind]):
        for v in _BOMBS:
            b = bytearray(seed)
            b[f.offset:f.offset + 8] = struct.pack("<Q", v)
            out.append((bytes(b), f"{f.path} ({f.kind}) set to {v}"))
    return out


def generate(kind: str, seeds: list[bytes], rng: random.Random
             ) -> Iterator[tuple[bytes, str]]:
    """Endless (bytes, how) stream: seeds, the deterministic stage, then random mutations."""
    for s in seeds:
        yield s, "seed"
    stage = [_deterministic(s) for s in seeds if kind != "mv2"]
    ordered = []
    for i in range(max((len(x) for x in stage), default=0)):
        ordered += [per_seed[i] for per_seed in stage if i < len(per_seed)]
    # The block lengths of every seed first (2 values each), then one deterministic input
    # for every random one, so that short campaigns see both.
    head = 2 * len(stage)
    yield from ordered[:head]
    rest = iter(ordered[head:])
    while True:
        nxt = next(rest, None)
        if nxt is not None:
            yield nxt
        data = rng.choice(seeds)
        steps = rng.randrange(1, 5)
        for _ in range(steps):
            data = mutate(data, rng)
        yield data, f"{steps} random mutation(s)"


# --- campaign --------------------------------------------------------------------------------

@attrs.define
class Crash:
    id: str
    crash_class: str
    signature: str
    run: int
    how: str
    data: bytes = attrs.field(repr=False)
    outcome: Outcome = attrs.field(repr=False)
    count: int = 1


@attrs.define
class Campaign:
    runs: int = 0
    crashes: list[Crash] = attrs.Factory(list)
    mismatches: list[dict[str, Any]] = attrs.Factory(list)
    accepted: int = 0
    rejected: int = 0
    seconds: float = 0.0


def _minimise(target: Target, kind: str, data: bytes, signature: str, budget: int) -> bytes:
    """ddmin-style: drop chunks while the crash keeps its cause (at most `budget` runs): its
    signature with large numbers exact and small ones by magnitude (`cause`), so the minimised
    input fails the same way (an allocation of 2^62 bytes stays one, not another field's
    132 GB)."""
    normal = getattr(target, "normal_exits", (0, 1))
    first = cause(target.run(data, kind)[0], normal)
    budget -= 1
    if first is None:
        return data  # the crash does not reproduce: nothing to hold fixed

    def same(candidate: bytes) -> bool:
        got = cause(target.run(candidate, kind)[0], normal)
        return got == first

    best, chunk = data, max(1, len(data) // 2)
    while budget > 0 and chunk >= 1:
        i, changed = 0, False
        while i < len(best) and budget > 0:
            cand = best[:i] + best[i + chunk:]
            budget -= 1
            if cand and same(cand):
                best, changed = cand, True
            else:
                i += chunk
        if not changed:
            if chunk == 1:
                break
            chunk //= 2
    return best


def _write_report(out: Path, crash: Crash, target: Target, kind: str, minimised: bytes
                  ) -> dict[str, Any]:
    d = out / "crashes" / crash.id
    d.mkdir(parents=True, exist_ok=True)
    (d / "input.bin").write_bytes(crash.data)
    repro = target.materialise(minimised, kind, d)
    o = crash.outcome
    ok, _, err = replayfmt_verdict(crash.data, kind)
    report = {
        "id": crash.id, "class": crash.crash_class, "signature": crash.signature,
        "target": target.describe, "kind": kind, "run": crash.run, "how": crash.how,
        "input": str(d / "input.bin"), "input_size": len(crash.data),
        "reproducer": str(repro[0]), "reproducer_size": len(minimised),
        "reproducer_files": [str(p) for p in repro],
        "exit_code": o.returncode if o.returncode is None or o.returncode >= 0 else None,
        "signal": _signal.Signals(-o.returncode).name
        if o.returncode is not None and o.returncode < 0 else None,
        "timeout": o.timed_out, "seconds": round(o.seconds, 3),
        "stderr_head": o.stderr.decode("utf-8", "replace")[:2000],
        "replayfmt": {"accepted": ok} if ok else {
            "accepted": False, "error": getattr(err, "kind", type(err).__name__),
            "offset": getattr(err, "offset", None), "path": getattr(err, "path", None)},
    }
    (d / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    return report


def run_campaign(target: Target, kind: str, *, runs: int, seed: int = 0, out: Path | str,
                 compare: bool = False, seeds: list[bytes] | None = None,
                 minimise_budget: int = 200, lenient: bool = False,
                 progress: Callable[[str], None] | None = None) -> Campaign:
    """Run `runs` inputs through `target`; write crashes/ and summary.json under `out`.

    With `compare`, replayfmt judges what the target actually reads (`target.effective`, e.g.
    the zero-padded segment slot of the memvid recipe), strictly or, with `lenient`, by
    memvid's own reader's rules (version, total_size and trailing bytes unchecked).
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    if seeds is None:
        if kind == "mv2":
            raise ValueError("kind mv2 needs seed .mv2 files")
        seeds = seed_inputs(kind, rng)
    normal = getattr(target, "normal_exits", (0, 1))
    work = Path(tempfile.mkdtemp(prefix="replayfmt-fuzz-"))
    camp = Campaign()
    by_sig: dict[str, Crash] = {}
    reports = []
    start = time.monotonic()
    try:
        target.setup(work)
        stream = generate(kind, seeds, rng)
        for i in range(runs):
            data, how = next(stream)
            outcome, extra = target.run(data, kind)
            camp.runs += 1
            crash = classify(outcome, normal)
            if crash:
                cls, sig = crash
                if sig in by_sig:
                    by_sig[sig].count += 1
                else:
                    c = Crash(f"crash-{len(by_sig):03d}-{cls}", cls, sig, i, how, data, outcome)
                    by_sig[sig] = c
                    camp.crashes.append(c)
                    if progress:
                        progress(f"run {i}: {cls}: {sig}")
                continue
            theirs = outcome.returncode == 0
            camp.accepted += theirs
            camp.rejected += not theirs
            if compare:
                seen = target.effective(data) if hasattr(target, "effective") else data
                ours, value, err = replayfmt_verdict(seen, kind, lenient=lenient)
                note = None
                if ours != theirs:
                    note = (f"replayfmt {'accepts' if ours else 'rejects'} "
                            f"({getattr(err, 'kind', '') or 'ok'}), target "
                            f"{'accepts' if theirs else 'rejects'} (exit {outcome.returncode})")
                elif ours and theirs:
                    note = _compare_json(kind, value, extra)
                if note and len(camp.mismatches) < 50:
                    p = out / "mismatches"
                    p.mkdir(exist_ok=True)
                    f = p / f"mismatch-{len(camp.mismatches):03d}.bin"
                    f.write_bytes(data)
                    camp.mismatches.append({"run": i, "how": how, "input": str(f),
                                            "detail": note})
        for c in camp.crashes:
            small = _minimise(target, kind, c.data, c.signature, minimise_budget)
            reports.append(_write_report(out, c, target, kind, small))
    finally:
        camp.seconds = time.monotonic() - start
        shutil.rmtree(work, ignore_errors=True)
    summary = {
        "target": target.describe, "kind": kind, "runs": camp.runs, "seed": seed,
        "seconds": round(camp.seconds, 2), "accepted": camp.accepted,
        "rejected": camp.rejected,
        "crashes": [{"id": c.id, "class": c.crash_class, "signature": c.signature,
                     "count": c.count, "first_run": c.run,
                     "report": str(out / "crashes" / c.id / "report.json")}
                    for c in camp.crashes],
        "mismatches": camp.mismatches,
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    return camp
