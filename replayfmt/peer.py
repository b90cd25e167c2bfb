"""The real memvid CLI as a peer: find the installed binary and drive it.

The CLI comes from the npm package ``@memvid/cli-linux-x64@2.0.160`` (the
binary itself reports ``memvid 2.0.140``). ``python -m replayfmt.peer install``
(also run by ``scripts/install-memvid.sh``) fetches it with ``npm pack`` into
``<cache>/memvid/2.0.160/package/memvid``, where ``<cache>`` is ``<repo>/.cache`` in
a source checkout and ``~/.cache/replayfmt`` (``$XDG_CACHE_HOME/replayfmt``)
for an installed wheel. Interop tests, fuzzing, benchmarks and
``scripts/regen_real_fixtures.py`` use it to write real replay segments and
sidecars and to read the CLI's own JSON view of them.

Every run gets ``LD_LIBRARY_PATH`` = the package folder (the binary needs the
shared libraries shipped beside it), ``HOME`` and ``TMPDIR`` = private
directories (the CLI keeps config, model and analytics dirs in HOME and its
own ``.tmp*`` dirs in TMPDIR), removed with the :class:`MemvidCLI`, and
``MEMVID_TELEMETRY=0`` (else every command queues an analytics event and tries
to send it). Inherited ``MEMVID_*`` variables are dropped so the host's settings
cannot leak in.

Standard library only (so that ``scripts/install-memvid.sh`` runs it before
replayfmt's dependencies are installed).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path

__all__ = [
    "INSTALL_HINT",
    "MEMVID_NPM_PACKAGE",
    "MEMVID_NPM_VERSION",
    "MEMVID_VERSION_OUTPUT",
    "MemvidCLI",
    "MemvidError",
    "MemvidNotFound",
    "find_memvid",
    "install_memvid",
    "main",
]

MEMVID_NPM_PACKAGE = "@memvid/cli-linux-x64"
MEMVID_NPM_VERSION = "2.0.160"
#: What ``memvid --version`` prints (without the trailing newline).
MEMVID_VERSION_OUTPUT = "memvid 2.0.140"

_REL_BINARY = Path("memvid") / MEMVID_NPM_VERSION / "package" / "memvid"
#: How to install the CLI, for error messages.
INSTALL_HINT = ("python -m replayfmt.peer install (needs npm; scripts/install-memvid.sh in a "
                "source checkout), or set REPLAYFMT_MEMVID to the binary")
_STARTED_RE = re.compile(rb"Started session: ([0-9a-fA-F-]{36})")

StrPath = str | os.PathLike[str]
Arg = StrPath | int


class MemvidNotFound(RuntimeError):
    """The memvid binary is not installed where we look for it."""


class MemvidError(subprocess.CalledProcessError):
    """A memvid command exited non-zero (raised when ``check=True``)."""

    def __str__(self) -> str:
        text = super().__str__()
        err = (self.stderr or b"").decode("utf-8", "replace").strip()
        return f"{text}\nstderr: {err[-2000:]}" if err else text


def _source_checkout() -> Path | None:
    repo = Path(__file__).resolve().parent.parent
    return repo if (repo / "pyproject.toml").is_file() else None


def _user_cache() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "replayfmt"


def default_cache() -> Path:
    """Where ``install`` puts the CLI: $REPLAYFMT_CACHE, else ``<repo>/.cache`` in a source
    checkout, else the user cache (``~/.cache/replayfmt``)."""
    if os.environ.get("REPLAYFMT_CACHE"):
        return Path(os.environ["REPLAYFMT_CACHE"])
    repo = _source_checkout()
    return repo / ".cache" if repo is not None else _user_cache()


def _cache_roots() -> list[Path]:
    """Where ``.cache`` may live: $REPLAYFMT_CACHE, the source checkout, the cwd, the user
    cache."""
    roots = []
    if os.environ.get("REPLAYFMT_CACHE"):
        roots.append(Path(os.environ["REPLAYFMT_CACHE"]))
    repo = _source_checkout()
    if repo is not None:
        roots.append(repo / ".cache")
    roots.append(Path.cwd() / ".cache")
    roots.append(_user_cache())
    return list(dict.fromkeys(roots))  # same folder twice when cwd is the repo


def find_memvid() -> Path:
    """Path of the memvid binary.

    ``$REPLAYFMT_MEMVID`` if set (it must exist), else
    ``.cache/memvid/2.0.160/package/memvid`` under ``$REPLAYFMT_CACHE`` (a
    cache root, i.e. the folder that replaces ``<repo>/.cache``), the repo
    root or the current directory, first found wins.
    """
    explicit = os.environ.get("REPLAYFMT_MEMVID")
    if explicit:
        path = Path(explicit)
        if path.is_file() and os.access(path, os.X_OK):
            return path.resolve()
        raise MemvidNotFound(
            f"REPLAYFMT_MEMVID={explicit!r} is not an executable file; unset it and install "
            f"the CLI: {INSTALL_HINT.split(', or set')[0]}"
        )
    tried = []
    for root in _cache_roots():
        path = root / _REL_BINARY
        if path.is_file() and os.access(path, os.X_OK):
            return path.resolve()
        tried.append(str(path))
    raise MemvidNotFound(
        f"memvid CLI ({MEMVID_NPM_PACKAGE}@{MEMVID_NPM_VERSION}) not found; install it with "
        f"{INSTALL_HINT}. Looked in: " + ", ".join(tried)
    )


class MemvidCLI:
    """Runs the memvid binary with a clean, private environment.

    ``home`` and ``tmpdir`` are the HOME and TMPDIR given to the CLI. Those not
    passed in are made on first use in one private directory, which
    :meth:`close` (or leaving a ``with`` block) removes with everything memvid
    wrote there; directories you pass in are never removed.
    """

    def __init__(
        self,
        binary: StrPath | None = None,
        home: StrPath | None = None,
        tmpdir: StrPath | None = None,
    ):
        self.binary = Path(binary).resolve() if binary is not None else find_memvid()
        if not self.binary.is_file():
            raise MemvidNotFound(f"{self.binary} does not exist; install the CLI: {INSTALL_HINT}")
        self._given = {"home": home, "tmp": tmpdir}
        self._root: Path | None = None
        self._version: str | None = None

    # -- lifecycle -------------------------------------------------------

    def _dir(self, which: str) -> Path:
        given = self._given[which]
        if given is not None:
            return Path(given)
        if self._root is None:
            self._root = Path(tempfile.mkdtemp(prefix="replayfmt-memvid-"))
        path = self._root / which
        path.mkdir(exist_ok=True)
        return path

    @property
    def home(self) -> Path:
        """The CLI's HOME (config, models, analytics queue)."""
        return self._dir("home")

    @property
    def tmpdir(self) -> Path:
        """The CLI's TMPDIR (memvid makes its ``.tmp*`` work dirs there)."""
        return self._dir("tmp")

    def close(self) -> None:
        if self._root is not None:
            shutil.rmtree(self._root, ignore_errors=True)
            self._root = None

    def __enter__(self) -> MemvidCLI:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"MemvidCLI(binary={str(self.binary)!r}, root={self._root and str(self._root)!r})"

    # -- running ---------------------------------------------------------

    @property
    def version(self) -> str:
        """``memvid --version`` output, stripped: ``'memvid 2.0.140'``."""
        if self._version is None:
            out = self.run("--version", check=True).stdout
            self._version = out.decode("utf-8", "replace").strip()
        return self._version

    def environ(self, env: Mapping[str, str] | None = None) -> dict[str, str]:
        """The environment a run gets (``env`` entries override the defaults)."""
        full = {k: v for k, v in os.environ.items() if not k.startswith("MEMVID_")}
        full["MEMVID_TELEMETRY"] = "0"
        if env:
            full.update(env)
        libdir = str(self.binary.parent)
        extra = full.get("LD_LIBRARY_PATH")
        full["LD_LIBRARY_PATH"] = f"{libdir}:{extra}" if extra else libdir
        full["HOME"] = str(self.home)
        tmp = str(self.tmpdir)
        full["TMPDIR"] = full["TMP"] = full["TEMP"] = tmp
        return full

    def run(
        self,
        *args: Arg,
        cwd: StrPath | None = None,
        stdin: bytes | str | None = None,
        env: Mapping[str, str] | None = None,
        timeout: float = 120,
        check: bool = False,
    ) -> subprocess.CompletedProcess[bytes]:
        """Run ``memvid *args``; stdout/stderr are captured as bytes.

        ``stdin`` (str is sent as UTF-8) is piped in; without it stdin is
        /dev/null. ``check=True`` raises :class:`MemvidError` on a non-zero
        exit. A timeout raises :class:`subprocess.TimeoutExpired`.
        """
        argv = [str(self.binary)]
        argv += [str(a) if isinstance(a, int) else os.fspath(a) for a in args]
        if isinstance(stdin, str):
            stdin = stdin.encode("utf-8")
        proc = subprocess.run(
            argv,
            input=stdin,
            stdin=subprocess.DEVNULL if stdin is None else None,
            capture_output=True,
            cwd=cwd,
            env=self.environ(env),
            timeout=timeout,
        )
        if check and proc.returncode != 0:
            raise MemvidError(proc.returncode, argv, proc.stdout, proc.stderr)
        return proc

    # -- helpers (all raise MemvidError when the CLI fails) ---------------

    def create(self, path: StrPath) -> subprocess.CompletedProcess[bytes]:
        """``memvid create PATH``"""
        return self.run("create", path, check=True)

    def session_start(
        self, path: StrPath, name: str | None = None, auto_checkpoint: int | None = None
    ) -> str:
        """``memvid session start PATH [-n NAME] [--auto-checkpoint N]``; returns the session id.

        ``name=""`` is passed through (the CLI records Some("")); ``None`` omits ``-n``.
        """
        args: list[Arg] = ["session", "start", path]
        if name is not None:
            args += ["-n", name]
        if auto_checkpoint is not None:
            args += ["--auto-checkpoint", int(auto_checkpoint)]
        proc = self.run(*args, check=True)
        match = _STARTED_RE.search(proc.stdout)
        if not match:
            raise MemvidError(proc.returncode, proc.args, proc.stdout, proc.stderr)
        return match.group(1).decode("ascii")

    def put(
        self, path: StrPath, text: str | bytes, *, title: str | None = None
    ) -> subprocess.CompletedProcess[bytes]:
        """``memvid put PATH [--title T]`` with ``text`` on stdin."""
        args: list[Arg] = ["put", path]
        if title is not None:
            args += ["--title", title]
        return self.run(*args, stdin=text, check=True)

    def find(
        self, path: StrPath, query: str, *, mode: str | None = None
    ) -> subprocess.CompletedProcess[bytes]:
        """``memvid find PATH --query Q [--mode M]``.

        The default (auto) mode first tries to load an embedding model, which
        means a network attempt; ``mode="lex"`` avoids it and records the same
        Find action (mode ``Tantivy``).
        """
        args: list[Arg] = ["find", path, "--query", query]
        if mode is not None:
            args += ["--mode", mode]
        return self.run(*args, check=True)

    def session_end(self, path: StrPath) -> subprocess.CompletedProcess[bytes]:
        """``memvid session end PATH``"""
        return self.run("session", "end", path, check=True)

    def session_list_json(self, path: StrPath) -> bytes:
        """Raw stdout of ``memvid session list PATH --format json``.

        A JSON array with a trailing newline; ``[]\\n`` when only an active
        session exists, and the plain text ``No recorded sessions.\\n`` (not
        JSON) when the file never had a replay segment.
        """
        return self.run("session", "list", path, "--format", "json", check=True).stdout

    def session_view_json(self, path: StrPath, session_id: str) -> bytes:
        """Raw stdout of ``memvid session view PATH -s ID --format json`` (ends with a newline)."""
        return self.run(
            "session", "view", path, "-s", session_id, "--format", "json", check=True
        ).stdout


# -- installing the CLI -------------------------------------------------------------------


def _probe(binary: Path) -> str:
    """``memvid --version`` of ``binary`` in a throwaway environment ('' when it fails)."""
    try:
        with MemvidCLI(binary) as cli:
            proc = cli.run("--version", timeout=60)
    except (OSError, subprocess.SubprocessError):
        return ""
    return proc.stdout.decode("utf-8", "replace").strip() if proc.returncode == 0 else ""


def install_memvid(cache: StrPath | None = None,
                   log: Callable[[str], None] | None = None) -> Path:
    """Install the memvid CLI from the npm registry into ``cache`` (default
    :func:`default_cache`); return the binary's path. Nothing is downloaded when the pinned
    version is already there. Needs ``npm`` on PATH. Raises :class:`MemvidNotFound` with the
    reason when it cannot install."""
    import tarfile

    def say(msg: str) -> None:
        if log is not None:
            log(msg)

    dest = Path(cache) if cache is not None else default_cache()
    dest = dest / "memvid" / MEMVID_NPM_VERSION
    binary = dest / "package" / "memvid"
    if binary.is_file() and _probe(binary) == MEMVID_VERSION_OUTPUT:
        say(f"already installed: {binary} ({MEMVID_VERSION_OUTPUT})")
        return binary
    npm = shutil.which("npm")
    if npm is None:
        raise MemvidNotFound("npm not found on PATH (install Node.js and npm, e.g. "
                             "apt-get install npm), needed to fetch "
                             f"{MEMVID_NPM_PACKAGE}@{MEMVID_NPM_VERSION}")
    dest.mkdir(parents=True, exist_ok=True)
    lock = open(dest / ".install.lock", "a")  # noqa: SIM115 -- held until the install is done
    try:
        import fcntl
        fcntl.flock(lock, fcntl.LOCK_EX)  # one install at a time (parallel test runs)
    except ImportError:  # not on POSIX: no lock
        pass
    if binary.is_file() and _probe(binary) == MEMVID_VERSION_OUTPUT:
        lock.close()
        say(f"installed by a concurrent run: {binary}")
        return binary
    work = Path(tempfile.mkdtemp(prefix=".work.", dir=dest))
    try:
        say(f"npm pack {MEMVID_NPM_PACKAGE}@{MEMVID_NPM_VERSION} (about 66 MB)")
        env = {**os.environ, "npm_config_cache": str(work / "npm-cache")}
        proc = subprocess.run(
            [npm, "pack", "--loglevel=error", f"{MEMVID_NPM_PACKAGE}@{MEMVID_NPM_VERSION}"],
            cwd=work, capture_output=True, env=env, timeout=1800)
        tgzs = sorted(work.glob("*.tgz"))
        if proc.returncode != 0 or len(tgzs) != 1:
            err = proc.stderr.decode("utf-8", "replace").strip()[-1000:]
            raise MemvidNotFound(f"npm pack {MEMVID_NPM_PACKAGE}@{MEMVID_NPM_VERSION} failed "
                                 f"(is the npm registry reachable?): {err}")
        unpacked = work / "unpacked"
        with tarfile.open(tgzs[0]) as tar:
            members = [m for m in tar.getmembers()
                       if m.isfile() and m.name.startswith("package/")
                       and ".." not in Path(m.name).parts]
            for m in members:
                target = unpacked / m.name
                target.parent.mkdir(parents=True, exist_ok=True)
                src = tar.extractfile(m)
                if src is None:  # not a regular file after all
                    continue
                with src, open(target, "wb") as out:
                    shutil.copyfileobj(src, out)
        new = unpacked / "package" / "memvid"
        if not new.is_file():
            raise MemvidNotFound(f"package/memvid missing from {tgzs[0].name}")
        new.chmod(0o755)
        version = _probe(new)
        if version != MEMVID_VERSION_OUTPUT:
            raise MemvidNotFound(f"the unpacked binary answers {version!r} to --version, "
                                 f"expected {MEMVID_VERSION_OUTPUT!r}")
        shutil.rmtree(dest / "package", ignore_errors=True)
        (unpacked / "package").rename(dest / "package")
    finally:
        shutil.rmtree(work, ignore_errors=True)
        lock.close()
    say(f"installed {binary} ({MEMVID_VERSION_OUTPUT})")
    return binary


def main(argv: list[str] | None = None) -> int:
    """``python -m replayfmt.peer install [--cache DIR]`` | ``where``."""
    import argparse
    import sys

    parser = argparse.ArgumentParser(
        prog="python -m replayfmt.peer",
        description=f"The memvid CLI ({MEMVID_NPM_PACKAGE}@{MEMVID_NPM_VERSION}) as the "
                    "reference peer of replayfmt's tests and `replayfmt fuzz --recipe memvid`.")
    sub = parser.add_subparsers(dest="command", required=True)
    inst = sub.add_parser("install", help="fetch it from the npm registry (needs npm); prints "
                                          "the binary's path")
    inst.add_argument("--cache", metavar="DIR", default=None,
                      help="cache root (default: $REPLAYFMT_CACHE, <repo>/.cache in a source "
                           "checkout, else ~/.cache/replayfmt)")
    sub.add_parser("where", help="print the binary's path (exit 1 when it is not installed)")
    args = parser.parse_args(argv)

    def log(msg: str) -> None:
        print(f"replayfmt.peer: {msg}", file=sys.stderr)

    try:
        if args.command == "install":
            path = install_memvid(args.cache, log=log)
        else:
            path = find_memvid()
    except MemvidNotFound as exc:
        print(f"replayfmt.peer: error: {exc}", file=sys.stderr)
        return 1
    print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
