"""A mapped file that shrinks while the library reads it: a clear error naming the file and
both sizes, in this process, never a SIGBUS (the test process would die of it)."""

from __future__ import annotations

import os
import random

import gen
import pytest
from conftest import REAL

import replayfmt as R
from replayfmt import forensics
from replayfmt.stream import FileShrank, check_mapped, iter_sessions, open_input, open_mapped


def _segment(tmp_path, n: int = 6) -> tuple[str, list[int]]:
    """A segment of n sessions of several pages each; the offset of each length prefix."""
    rng = random.Random(11)
    data = R.build_segment([gen.session(rng, 40) for _ in range(n)])
    prefixes, p = [], 24
    while p < len(data):
        prefixes.append(p)
        p += 8 + int.from_bytes(data[p:p + 8], "little")
    assert len(prefixes) == n and prefixes[2] - prefixes[1] > 3 * 4096
    f = tmp_path / "seg.bin"
    f.write_bytes(data)
    return str(f), prefixes


def test_a_segment_truncated_between_sessions_is_a_clear_error(tmp_path):
    path, prefixes = _segment(tmp_path)
    size = os.path.getsize(path)
    sessions = iter_sessions(path)
    next(sessions)
    next(sessions)
    os.truncate(path, prefixes[3] - 4096)  # the third session's last pages are gone
    with pytest.raises(FileShrank) as got:
        next(sessions)
    assert got.value.filename == path
    assert got.value.strerror == (f"the file shrank from {size} to {prefixes[3] - 4096} bytes "
                                  "while it was being read")
    assert isinstance(got.value, OSError) and path in str(got.value)


def test_a_mv2_truncated_while_its_sessions_are_read(tmp_path):
    f = tmp_path / "mem.mv2"
    f.write_bytes((REAL / "p09_auto_checkpoint_3" / "mem.mv2").read_bytes())
    size = f.stat().st_size
    sessions = iter_sessions(f)
    next(sessions)
    os.truncate(f, 8192)  # the live segment and the TOC are gone
    with pytest.raises(FileShrank, match=f"shrank from {size} to 8192 bytes"):
        next(sessions)


def test_carve_of_a_file_that_shrinks_between_windows(tmp_path):
    path, _ = _segment(tmp_path)
    with open_input(path) as data:
        hits = forensics._find_all(data, b"MV2RPLY!", chunk=4096)
        assert next(hits) == 0
        os.truncate(path, 4096)
        with pytest.raises(FileShrank):
            list(hits)


def test_check_mapped_passes_what_it_did_not_map(tmp_path):
    path, _ = _segment(tmp_path)
    check_mapped(b"bytes")  # not a map: nothing to check
    with open_mapped(path) as mm:
        check_mapped(mm)
        with open(path, "ab") as fh:  # growing is no danger
            fh.write(b"\0")
        check_mapped(mm)
    check_mapped(mm)  # closed: forgotten


@pytest.mark.parametrize("reader", ["validate", "scan_segment", "parse_segment"])
def test_every_block_walk_over_a_shrunk_map_is_a_clear_error(tmp_path, reader):
    """validate, the listing scan and the strict parser walk blocks through framing, which
    checks a map made by `open_input` before each block: a shrunk file is FileShrank."""
    from replayfmt import scan

    fn = {"validate": R.validate, "scan_segment": scan.scan_segment,
          "parse_segment": R.parse_segment}[reader]
    path, prefixes = _segment(tmp_path)
    size = os.path.getsize(path)
    with open_input(path) as data:
        os.truncate(path, prefixes[3] - 4096)
        with pytest.raises(FileShrank, match=f"shrank from {size} to {prefixes[3] - 4096}"):
            fn(data)
