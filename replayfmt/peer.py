"""The real memvid CLI as a peer: find the installed binary and drive it.

The CLI comes from the npm package ``@memvid/cli-linux-x64@2.0.160`` (the
binary itself reports ``memvid 2.0.140``); ``scripts/install-memvid.sh``
installs it into ``<repo>/.cache/memvid/2.0.160/package/memvid``. Interop tests,
benchmarks and ``scripts/regen_real_fixtures.py`` use it to write real replay
segments and sidecars and to read the CLI's own JSON view of them.

Every run gets ``LD_LIBRARY_PATH`` = the package folder (the binary needs the
shared libraries shipped beside it), ``HOME`` = a private temp dir (the CLI
keeps config, model and analytics dirs there) and ``MEMVID_TELEMETRY=0`` (else
every command queues an analytics event and tries to send it). Inherited
``MEMVID_*`` variables are dropped so the host's settings cannot leak in.

Standard library only.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Mapping, Union

__all__ = [
    "MEMVID_NPM_PACKAGE",
    "MEMVID_NPM_VERSION",
    "MEMVID_VERSION_OUTPUT",
    "MemvidCLI",
    "MemvidError",
    "MemvidNotFound",
    "find_memvid",
]

MEMVID_NPM_PACKAGE = "@memvid/cli-linux-x64"
MEMVID_NPM_VERSION = "2.0.160"
#: What ``memvid --version`` prints (without the trailing newline).
MEMVID_VERSION_OUTPUT = "memvid 2.0.140"

_REL_BINARY = Path("memvid") / MEMVID_NPM_VERSION / "package" / "memvid"
_STARTED_RE = re.compile(rb"Started session: ([0-9a-fA-F-]{36})")

StrPath = Union[str, "os.PathLike[str]"]
Arg = Union[StrPath, int]


class MemvidNotFound(RuntimeError):
    """The memvid binary is not installed where we look for it."""


class MemvidError(subprocess.CalledProcessError):
    """A memvid command exited non-zero (raised when ``check=True``)."""

    def __str__(self) -> str:
        text = super().__str__()
        err = (self.stderr or b"").decode("utf-8", "replace").strip()
        return f"{text}\nstderr: {err[-2000:]}" if err else text


def _cache_roots() -> list[Path]:
    """Where ``.cache`` may live: $REPLAYFMT_CACHE, the source checkout, the cwd."""
    roots = []
    if os.environ.get("REPLAYFMT_CACHE"):
        roots.append(Path(os.environ["REPLAYFMT_CACHE"]))
    repo = Path(__file__).resolve().parent.parent
    if (repo / "pyproject.toml").is_file():
        roots.append(repo / ".cache")
    roots.append(Path.cwd() / ".cache")
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
            f"REPLAYFMT_MEMVID={explicit!r} is not an executable file; unset it or "
            "run scripts/install-memvid.sh"
        )
    tried = []
    for root in _cache_roots():
        path = root / _REL_BINARY
        if path.is_file() and os.access(path, os.X_OK):
            return path.resolve()
        tried.append(str(path))
    raise MemvidNotFound(
        f"memvid CLI ({MEMVID_NPM_PACKAGE}@{MEMVID_NPM_VERSION}) not found; run "
        "scripts/install-memvid.sh (or set REPLAYFMT_MEMVID to the binary). Looked in: "
        + ", ".join(tried)
    )


class MemvidCLI:
    """Runs the memvid binary with a clean, private environment.

    ``home`` is the HOME given to the CLI; without it a temp dir is created on
    first use and removed by :meth:`close` (or on leaving a ``with`` block).
    A home you pass in is never removed.
    """

    def __init__(self, binary: StrPath | None = None, home: StrPath | None = None):
        self.binary = Path(binary).resolve() if binary is not None else find_memvid()
        if not self.binary.is_file():
            raise MemvidNotFound(
                f"{self.binary} does not exist; run scripts/install-memvid.sh"
            )
        self._home = Path(home) if home is not None else None
        self._own_home = home is None
        self._version: str | None = None

    # -- lifecycle -------------------------------------------------------

    @property
    def home(self) -> Path:
        if self._home is None:
            self._home = Path(tempfile.mkdtemp(prefix="replayfmt-memvid-home-"))
        return self._home

    def close(self) -> None:
        if self._own_home and self._home is not None:
            shutil.rmtree(self._home, ignore_errors=True)
            self._home = None

    def __enter__(self) -> "MemvidCLI":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"MemvidCLI(binary={str(self.binary)!r}, home={self._home and str(self._home)!r})"

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
