"""Deterministic random replay records for the tests: every ActionType variant, None and Some
options, metadata, checkpoints, non-ASCII text. (Not Hypothesis: the differential test wants
many cheap, reproducible inputs and mutates their bytes itself.)"""

from __future__ import annotations

import random
import uuid

from replayfmt import model as M

TEXTS = ["", "a", "query about memory", "日本語のテキスト", "emoji 🧠 zwj 👩‍💻",
         "x" * 600,
         "line\nbreak\ttab", "Tantivy"]


def _text(rng: random.Random) -> str:
    return rng.choice(TEXTS)


def _hash(rng: random.Random) -> bytes:
    return rng.choice([bytes(32), b"\xff" * 32, rng.randbytes(32)])


def _frames(rng: random.Random) -> list[int]:
    return [rng.choice([0, 1, 2**64 - 1, rng.getrandbits(40)]) for _ in range(rng.randint(0, 4))]


def action_type(rng: random.Random, index: int | None = None):
    index = rng.randrange(8) if index is None else index
    return [
        lambda: M.Put(rng.getrandbits(64)),
        lambda: M.PutMany(_frames(rng), rng.getrandbits(64)),
        lambda: M.Find(_text(rng), rng.choice(["Tantivy", "lexical", "hybrid"]),
                       rng.getrandbits(16)),
        lambda: M.Ask(_text(rng), "nvidia:x", "nvidia:x"),
        lambda: M.CheckpointAction(rng.getrandbits(8)),
        lambda: M.Update(rng.getrandbits(64)),
        lambda: M.Delete(rng.getrandbits(64)),
        lambda: M.ToolCall(_text(rng), _hash(rng)),
    ][index]()


def session(rng: random.Random, n_actions: int | None = None) -> M.ReplaySession:
    n = rng.randint(0, 12) if n_actions is None else n_actions
    actions = [M.ReplayAction(i, rng.randint(-2**40, 2**40), action_type(rng, i % 8 if i < 8
                                                                          else None),
                              _hash(rng), _hash(rng), _text(rng), _text(rng), _frames(rng),
                              rng.getrandbits(20)) for i in range(n)]
    checkpoints = [M.Checkpoint(i, rng.getrandbits(10), rng.getrandbits(31), _hash(rng),
                                M.StateSnapshot(rng.getrandbits(10), _frames(rng),
                                                rng.choice([None, _hash(rng)]),
                                                rng.choice([None, _hash(rng)]),
                                                rng.getrandbits(32), rng.getrandbits(8)))
                   for i in range(rng.randint(0, 2))]
    metadata = {f"k{i}-{_text(rng)}": _text(rng) for i in range(rng.randint(0, 2))}
    return M.ReplaySession(uuid.UUID(int=rng.getrandbits(128)), rng.choice([None, "", "named"]),
                           rng.getrandbits(31), rng.choice([None, rng.getrandbits(31)]),
                           checkpoints, actions, metadata, rng.choice([1, 1, 7]))


def active(rng: random.Random) -> M.ActiveSession:
    return M.ActiveSession(session(rng), rng.getrandbits(8), rng.getrandbits(8),
                           M.ReplayConfig(rng.getrandbits(64), rng.choice([None, 5]),
                                          rng.choice([True, False])))
