"""Evidence is sacred: outputs never replace an input or (without --force) an existing file,
appear atomically, and leave nothing behind when they fail or are interrupted; inputs come
through the one bounded opener; Ctrl-C is exit 130 without a traceback; text output cannot
drive the terminal."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time

import pytest
from conftest import GOLDEN, REAL, ROOT

import replayfmt as R
from replayfmt import stream
from replayfmt.cli import main

P09 = REAL / "p09_auto_checkpoint_3"
SEG = P09 / "segment-0.bin"


@pytest.fixture
def evidence(tmp_path):
    ev = tmp_path / "ev.bin"
    shutil.copyfile(SEG, ev)
    return ev


def _leftovers(directory) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.startswith("."))


@pytest.mark.parametrize("argv", [
    ["salvage", "{ev}", "-o", "{ev}"],
    ["dump", "{ev}", "-o", "{ev}"],
    ["hexmap", "{ev}", "--html", "{ev}"],
    ["hexmap", "{ev}", "-o", "{ev}"],
])
@pytest.mark.parametrize("force", [False, True])
def test_no_command_writes_over_its_own_input(evidence, capsys, argv, force):
    before = evidence.read_bytes()
    argv = [a.format(ev=evidence) for a in argv] + (["--force"] if force else [])
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert ("it is the input" in err) if force else ("refusing" in err)
    assert evidence.read_bytes() == before and _leftovers(evidence.parent) == []


def test_not_even_through_another_name(evidence, capsys):
    link = evidence.parent / "other-name.bin"
    os.link(evidence, link)
    assert main(["dump", str(evidence), "-o", str(link), "--force"]) == 2
    assert "it is the input" in capsys.readouterr().err
    assert evidence.read_bytes() == SEG.read_bytes()


def test_a_read_only_existing_file_is_not_replaced(evidence, tmp_path, capsys):
    target = tmp_path / "kept.json"
    target.write_bytes(b"precious")
    target.chmod(0o444)
    assert main(["dump", str(evidence), "-o", str(target)]) == 2
    assert "refusing to replace" in capsys.readouterr().err
    assert target.read_bytes() == b"precious"
    assert main(["dump", str(evidence), "-o", str(target), "--force"]) == 0
    assert target.read_bytes().startswith(b"{")


def test_build_from_stdin_refuses_to_write_over_the_file_stdin_reads(tmp_path):
    src = tmp_path / "x.json"
    src.write_bytes((GOLDEN / "segment_empty.json").read_bytes())
    with open(src, "rb") as fh:
        proc = subprocess.run([sys.executable, "-m", "replayfmt", "build", "-", "-o", str(src),
                               "--force"], stdin=fh, capture_output=True, check=False)
    assert proc.returncode == 2 and b"it is the input (stdin)" in proc.stderr
    assert src.read_bytes() == (GOLDEN / "segment_empty.json").read_bytes()


def test_carve_out_never_overwrites_and_names_blocks_by_source(tmp_path, capsys):
    out = tmp_path / "blocks"
    assert main(["carve", str(P09 / "mem.mv2"), "--out", str(out)]) == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == ["mem.mv2-segment-000000138840-live.bin"]
    other = tmp_path / "seg.bin"  # another file with a block at the same offset (0)
    shutil.copyfile(SEG, other)
    assert main(["carve", str(other), "--out", str(out)]) == 0
    assert main(["carve", str(SEG), "--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == sorted(
        names + ["seg.bin-segment-000000000000.bin", "segment-0.bin-segment-000000000000.bin"])
    capsys.readouterr()
    assert main(["carve", str(other), "--out", str(out)]) == 2  # the same file again
    assert "refusing to replace" in capsys.readouterr().err


def test_a_failed_write_leaves_nothing(tmp_path, monkeypatch, capsys):
    import replayfmt.cli._common as C

    def broken_chmod(path, mode):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(C.os, "chmod", broken_chmod)
    target = tmp_path / "out.json"
    assert main(["dump", str(SEG), "-o", str(target)]) == 2
    assert "No space left on device" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_ctrl_c_during_a_write_exits_130_and_leaves_nothing(tmp_path, monkeypatch, capsys):
    import replayfmt.cli._common as C

    real = C.os.chmod

    def interrupted(path, mode):
        raise KeyboardInterrupt

    monkeypatch.setattr(C.os, "chmod", interrupted)
    assert main(["salvage", str(SEG), "-o", str(tmp_path / "out.bin")]) == 130
    err = capsys.readouterr().err
    assert "interrupted" in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []
    monkeypatch.setattr(C.os, "chmod", real)


def test_ctrl_c_in_carve_removes_the_blocks_already_written(tmp_path, monkeypatch, capsys):
    import replayfmt.cli._common as C

    calls = []
    real = C.write_output

    def second_interrupts(*args, **kw):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(*args, **kw)

    monkeypatch.setattr("replayfmt.cli.carve.write_output", second_interrupts)
    C.CREATED.clear()
    out = tmp_path / "blocks"
    assert main(["carve", str(REAL / "p10_two_cycles" / "mem.mv2"), "--out", str(out)]) == 130
    assert list(out.iterdir()) == []


def test_ctrl_c_as_a_signal_exits_130_without_a_traceback(tmp_path):
    """A real SIGINT while a command is working (its library call made slow on purpose)."""
    code = ("import sys, time\n"
            "import replayfmt.forensics as F\n"
            "def slow(data):\n"
            "    print('working', file=sys.stderr, flush=True)\n"
            "    time.sleep(60)\n"
            "F.carve = slow\n"
            "from replayfmt.cli import main\n"
            "raise SystemExit(main(sys.argv[1:]))\n")
    proc = subprocess.Popen([sys.executable, "-c", code, "carve", str(SEG)], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert proc.stderr.readline() == b"working\n"
    proc.send_signal(signal.SIGINT)
    err = proc.stderr.read()
    assert proc.wait(timeout=60) == 130
    assert err == b"replayfmt: interrupted\n"


# --- the bounded opener ----------------------------------------------------------------------

def test_process_substitution_and_pipes_are_read_whole():
    """`carve <(cat seg.bin)` read 0 bytes before."""
    r, w = os.pipe()
    data = SEG.read_bytes()
    pid = os.fork()
    if pid == 0:  # the writer
        os.close(r)
        os.write(w, data)
        os._exit(0)
    os.close(w)
    try:
        with stream.open_input(f"/dev/fd/{r}") as got:
            assert bytes(got) == data
    finally:
        os.close(r)
        os.waitpid(pid, 0)


def test_carve_of_a_pipe_finds_its_block():
    proc = subprocess.run(["bash", "-c", f"{sys.executable} -m replayfmt carve --json "
                           f"<(cat {SEG})"], capture_output=True, check=False, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    assert b'"offset": 0' in proc.stdout and b'"kind": "segment"' in proc.stdout


@pytest.mark.parametrize("argv", [["build", "/dev/zero", "-o", "-"], ["diff", "/dev/zero", "x"],
                                  ["hexmap", "/dev/zero"], ["info", "/dev/zero"],
                                  ["validate", "/dev/zero"], ["carve", "/dev/zero"]])
def test_dev_zero_is_refused_not_read(capsys, argv):
    t0 = time.monotonic()
    assert main(argv) == 2
    assert time.monotonic() - t0 < 5
    assert "character device" in capsys.readouterr().err


def test_a_pipe_over_the_limit_is_refused():
    r, w = os.pipe()
    os.write(w, b"x" * 5000)
    os.close(w)
    with pytest.raises(stream.InputTooLarge), \
            stream.open_input(f"/dev/fd/{r}", limit=4096) as _:
        pass
    os.close(r)


def test_open_input_takes_bytes_memoryview_and_mmap():
    data = SEG.read_bytes()
    with stream.open_input(memoryview(data)) as got:
        assert R.parse_segment(got).session_count == 1
    with stream.open_input(SEG) as mm, stream.open_input(mm) as same:
        assert same is mm


def test_a_directory_is_refused(tmp_path, capsys):
    assert main(["hexmap", str(tmp_path)]) == 2
    assert "directory" in capsys.readouterr().err.lower()


# --- many files, long names, terminals -------------------------------------------------------

def test_info_goes_on_after_an_unreadable_file(capsys):
    assert main(["info", "--json", "missing.bin", str(SEG)]) == 2
    out, err = capsys.readouterr()
    assert '"kind": "segment"' in out and "missing.bin" in err


def test_a_mv2_name_too_long_for_its_sidecar_is_not_a_traceback(tmp_path, capsys):
    name = tmp_path / ("m" * 251 + ".mv2")  # NAME.session would be 259 bytes: ENAMETOOLONG
    shutil.copyfile(P09 / "mem.mv2", name)
    assert main(["info", str(name)]) == 0
    assert "live segment at offset 138840" in capsys.readouterr().out


def _hostile_segment() -> bytes:
    seg = R.parse_segment(SEG.read_bytes())
    s = seg.sessions[0]
    s.name = "evil\x1b[2J\x1b]0;pwned\x07\u202e\u2028\x85\x7f"
    s.metadata = {"k\x1b[31m\r\x08\x00": "v\x9b"}
    return R.build_segment([s])


def test_text_output_cannot_drive_the_terminal(tmp_path, capsys):
    bad = tmp_path / "name\x1b]0;title\x07\u202e.bin"
    bad.write_bytes(_hostile_segment())
    clean = SEG
    for argv in (["info", str(bad)], ["validate", str(bad)], ["diff", str(clean), str(bad)],
                 ["hexmap", str(bad)], ["sessions", "--all", str(bad)], ["carve", str(bad)],
                 ["salvage", str(bad)]):
        main(argv)
        out, err = capsys.readouterr()
        for text in (out, err):
            assert not any(c in text for c in "\x1b\x07\r\x08\x00\x7f\x85\x9b\u202e\u2028"), \
                (argv, text)
        if argv[0] != "salvage":  # salvage prints neither names nor values
            assert "\\x1b" in out + err or "\\u001b" in out + err, argv  # shown, escaped


def test_ctrl_c_removes_only_the_files_of_its_own_run(tmp_path, monkeypatch):
    first = tmp_path / "first.json"
    assert main(["dump", str(SEG), "-o", str(first)]) == 0
    import replayfmt.cli.carve as carve_cmd

    def interrupted(*args, **kw):
        raise KeyboardInterrupt

    monkeypatch.setattr(carve_cmd, "write_output", interrupted)
    assert main(["carve", str(SEG), "--out", str(tmp_path / "blocks")]) == 130
    assert first.exists()
