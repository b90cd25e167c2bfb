"""The wheel as a user gets it: built by pip from the files git knows (nothing else in the
checkout leaks in), holding the license, the type information, the schemas and the compiled
fast path; installed in a fresh venv it shows a real file as the development install does, and
a user's type checker sees replayfmt's types through it. Everything happens in one private
temporary directory (also the TMPDIR of every process started), removed at the end."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterator
from importlib.metadata import version
from pathlib import Path

import pytest
from conftest import REAL, ROOT

pytestmark = pytest.mark.wheel

FIXTURE = REAL / "p09_auto_checkpoint_3" / "mem.mv2"
RUNTIME_DEPS = ("construct", "attrs", "blake3", "orjson")


def _run(args: list[str | Path], cwd: Path, tmp: Path, timeout: int = 600
         ) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "VIRTUAL_ENV", "REPLAYFMT_PURE")}
    env.update(TMPDIR=str(tmp), PIP_NO_INPUT="1")
    return subprocess.run([str(a) for a in args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env=env)


def _copy_git_files(dest: Path) -> list[str]:
    files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True,
                           check=True).stdout.decode().split("\0")
    files = [f for f in files if f]
    for name in files:
        src, dst = ROOT / name, dest / name
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_symlink():
            dst.symlink_to(os.readlink(src))
        elif src.is_file():
            shutil.copy2(src, dst)
    return files


@pytest.fixture(scope="module")
def private_tmp() -> Iterator[Path]:
    outer = Path(tempfile.gettempdir())
    before = set(os.listdir(outer))
    root = Path(tempfile.mkdtemp(prefix="replayfmt-wheel-"))
    (root / "tmp").mkdir()
    try:
        yield root
        left = sorted(os.listdir(root / "tmp"))
        assert left == [], f"temporary files left by the build, the install or a run: {left}"
    finally:
        shutil.rmtree(root)
    assert not root.exists()
    ours = [n for n in set(os.listdir(outer)) - before if n.startswith("replayfmt-wheel-")]
    assert ours == [], ours


@pytest.fixture(scope="module")
def wheel(private_tmp: Path) -> Path:
    src = private_tmp / "src"
    files = _copy_git_files(src)
    assert "replayfmt/_native.c" not in files and "replayfmt/_native.pyx" in files
    out = private_tmp / "dist"
    res = _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", out, src],
               cwd=private_tmp, tmp=private_tmp / "tmp", timeout=900)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    shutil.rmtree(src)
    wheels = list(out.glob("replayfmt-*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


@pytest.fixture(scope="module")
def venv(private_tmp: Path, wheel: Path) -> Path:
    env_dir = private_tmp / "venv"
    tmp = private_tmp / "tmp"
    res = _run([sys.executable, "-m", "venv", env_dir], cwd=private_tmp, tmp=tmp)
    assert res.returncode == 0, res.stderr
    py = env_dir / "bin" / "python"
    res = _run([py, "-m", "pip", "install", "-q", "--no-deps", wheel], cwd=private_tmp, tmp=tmp)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    # the runtime dependencies at the versions the development install runs
    pins = [f"{name}=={version(name)}" for name in RUNTIME_DEPS]
    res = _run([py, "-m", "pip", "install", "-q", *pins], cwd=private_tmp, tmp=tmp)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    return env_dir


def test_the_wheel_holds_what_a_user_needs_and_nothing_generated(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
    pkg = {n for n in names if n.startswith("replayfmt/")}
    tracked = {n for n in subprocess.run(["git", "ls-files", "replayfmt"], cwd=ROOT,
                                         capture_output=True, text=True,
                                         check=True).stdout.split()}
    # every module and data file git knows is in, with the compiled extension beside them
    assert tracked <= pkg, sorted(tracked - pkg)
    native = [n for n in pkg if n.startswith("replayfmt/_native") and n.endswith(".so")]
    assert len(native) == 1, sorted(pkg)
    assert {"replayfmt/py.typed", "replayfmt/__init__.pyi", "replayfmt/_native.pyx",
            "replayfmt/schemas/replay.ksy",
            "replayfmt/schemas/memvid-json.schema.json"} <= pkg
    assert pkg - tracked == set(native), sorted(pkg - tracked)  # no _native.c, no caches
    licenses = [n for n in names if n.endswith("/LICENSE") and ".dist-info/" in n]
    assert len(licenses) == 1, sorted(names)
    with zipfile.ZipFile(wheel) as zf:
        assert zf.read(licenses[0]) == (ROOT / "LICENSE").read_bytes()
        assert zf.read("replayfmt/schemas/replay.ksy") == (ROOT / "schemas" /
                                                           "replay.ksy").read_bytes()


def test_the_installed_wheel_shows_a_real_file_as_the_development_install(
        private_tmp: Path, venv: Path) -> None:
    tmp = private_tmp / "tmp"
    installed = _run([venv / "bin" / "replayfmt", "info", FIXTURE], cwd=private_tmp, tmp=tmp)
    develop = _run([sys.executable, "-m", "replayfmt", "info", FIXTURE], cwd=ROOT, tmp=tmp)
    assert installed.returncode == develop.returncode == 0, installed.stderr + develop.stderr
    assert installed.stdout == develop.stdout and installed.stdout.strip()
    # the installed package is the wheel's (not the checkout), on its compiled path
    where = _run([venv / "bin" / "python", "-c",
                  "import replayfmt, replayfmt.accel as a; "
                  "print(replayfmt.__file__); print(a.native is not None)"],
                 cwd=private_tmp, tmp=tmp)
    path, compiled = where.stdout.split()
    assert Path(path).is_relative_to(venv) and compiled == "True", where.stdout + where.stderr


def test_a_users_type_checker_sees_the_installed_types(private_tmp: Path, venv: Path) -> None:
    user = private_tmp / "user"
    user.mkdir()
    (user / "mypy.ini").write_text("[mypy]\nstrict = True\n")
    (user / "app.py").write_text(
        "import replayfmt\n"
        "\n"
        "segment: replayfmt.Segment = replayfmt.parse_segment(b'')\n"
        "replayfmt.parse_segment(42)\n")
    res = _run([sys.executable, "-m", "mypy", "--python-executable", venv / "bin" / "python",
                "--cache-dir", private_tmp / "mypy-cache", "--config-file", user / "mypy.ini",
                "app.py"], cwd=user, tmp=private_tmp / "tmp")
    errors = [line for line in res.stdout.splitlines() if ": error:" in line]
    assert res.returncode == 1 and len(errors) == 1, res.stdout + res.stderr
    assert errors[0].startswith("app.py:4: error: Argument 1 to \"parse_segment\" has "
                                "incompatible type \"int\""), errors
