"""Every malformed fixture gives exactly the error (kind, offset, path) written beside it."""

from __future__ import annotations

import pytest
from conftest import MALFORMED, load_json

import replayfmt as R

CASES = sorted(MALFORMED.glob("*.bin"))


@pytest.mark.parametrize("path", CASES, ids=lambda p: p.stem)
def test_malformed_exact_error(path):
    expected = load_json(path.with_suffix(".json"))
    parse = R.parse_segment if expected["input"] == "segment" else R.parse_active_session
    with pytest.raises(R.ReplayFormatError) as info:
        parse(path.read_bytes())
    err = info.value
    assert (err.kind, err.offset, err.path) == (expected["kind"], expected["offset"],
                                                expected["path"])
    assert isinstance(err, ValueError)
    text = str(err)
    assert f"offset {err.offset}" in text and (err.path in text)


def test_every_error_kind_has_a_fixture():
    kinds = {load_json(p.with_suffix(".json"))["kind"] for p in CASES}
    missing = set(R.ErrorKind.ALL) - kinds - {"duplicate_key"}
    assert not missing


def test_duplicate_metadata_key_is_rejected_at_the_second_key():
    session = R.ReplaySession(session_id=__import__("uuid").UUID(int=1),
                              metadata={"a": "1", "b": "2"})
    data = R.build_segment([session])
    pos = data.rindex(b"\x01\x00\x00\x00\x00\x00\x00\x00b")  # length 1 then "b"
    bad = data[:pos + 8] + b"a" + data[pos + 9:]
    with pytest.raises(R.ReplayFormatError) as info:
        R.parse_segment(bad)
    assert info.value.kind == "duplicate_key"
    assert info.value.offset == pos
    assert info.value.path == "sessions[0].metadata[1].key"


def test_error_carries_expected_and_actual():
    data = (MALFORMED / "version_2.bin").read_bytes()
    with pytest.raises(R.ReplayFormatError) as info:
        R.parse_segment(data)
    assert (info.value.expected, info.value.actual) == (1, 2)


def test_error_survives_pickling():
    import pickle

    with pytest.raises(R.ReplayFormatError) as info:
        R.parse_segment((MALFORMED / "invalid_utf8_preview.bin").read_bytes())
    clone = pickle.loads(pickle.dumps(info.value))
    assert (clone.kind, clone.offset, clone.path) == (info.value.kind, info.value.offset,
                                                      info.value.path)


@pytest.mark.parametrize("kind", [bytearray, memoryview])
def test_bytes_like_inputs(kind):
    data = (MALFORMED.parent / "golden" / "segment_all_variants.bin").read_bytes()
    assert R.parse_segment(kind(data)) == R.parse_segment(data)
    with pytest.raises(R.ReplayFormatError):
        R.parse_segment(kind(data[:-1]))


def test_non_bytes_input_is_a_type_error():
    with pytest.raises(TypeError):
        R.parse_segment("MV2RPLY!")
