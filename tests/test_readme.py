"""Every Python example in README.md runs as written, from a fresh directory holding the files
the README names (copies of a real memvid CLI case)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys

import pytest
from conftest import REAL, ROOT

README = ROOT / "README.md"
CASE = REAL / "p09_auto_checkpoint_3"
#: the names the README's examples read -> the fixture each is a copy of
FILES = {"segment.bin": "segment-0.bin", "mem.mv2.session": "active-0.bin", "mem.mv2": "mem.mv2"}


def _blocks() -> list[str]:
    return re.findall(r"^```python\n(.*?)^```$", README.read_text(encoding="utf-8"), re.M | re.S)


def test_readme_has_python_examples():
    assert len(_blocks()) >= 2


@pytest.mark.parametrize("index", range(len(_blocks())))
def test_readme_example_runs(index, tmp_path):
    for name, src in FILES.items():
        shutil.copyfile(CASE / src, tmp_path / name)
    script = tmp_path / "example.py"
    script.write_text(_blocks()[index], encoding="utf-8")
    res = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True,
                         text=True, timeout=120)
    assert res.returncode == 0, f"README example {index} failed:\n{res.stderr}"
    assert res.stdout.strip(), "every example prints something"
    # The examples read the files, never write them.
    for name, src in FILES.items():
        assert (tmp_path / name).read_bytes() == (CASE / src).read_bytes()
