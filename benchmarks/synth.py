"""Synthetic replay sessions realistic in shape (about 300 bytes per action on the wire).

The mix follows what the memvid CLI records (FORMAT.md, real-fixtures/README.md): mostly
Find actions (query, mode "Tantivy", a few affected frames) and Put actions (WAL-sequence
frame ids, a preview that is sometimes the full 512 characters), a few Ask actions with an
output preview, and an auto checkpoint every 50 puts. Deterministic for a given seed.
"""

from __future__ import annotations

import random
import uuid

import blake3

from replayfmt import model as M
from replayfmt.codec import snapshot_state_hash

__all__ = ["make_session", "make_active", "make_active_from", "WORDS"]

WORDS = ("agent memory replay frame index vector lexical query session checkpoint "
         "tantivy search result document chunk embedding model provider latency budget "
         "context window retrieval answer summary question evidence source timeline").split()
ZERO = bytes(32)


def _text(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words))


def _query_hash(query: str) -> bytes:
    """What memvid stores as a Find or Ask input_hash: BLAKE3 of the query (validate's RF306)."""
    return blake3.blake3(query.encode()).digest()


def make_session(n_actions: int, seed: int = 1, *, ended: bool = True) -> M.ReplaySession:
    """A ReplaySession of `n_actions` actions (mostly Find/Put, some Ask, checkpoints)."""
    rng = random.Random(seed)
    created = 1_795_600_000
    actions: list[M.ReplayAction] = []
    checkpoints: list[M.Checkpoint] = []
    wal = 0
    puts = 0
    frames: list[int] = []
    ts = created
    while len(actions) < n_actions:
        seq = len(actions)
        ts += rng.random() < 0.3
        r = rng.random()
        if r < 0.33:
            wal += 2
            puts += 1
            frames.append(len(frames))
            long = rng.random() < 0.4
            preview = (_text(rng, 120)[:512]) if long else _text(rng, rng.randint(4, 18))
            action = M.ReplayAction(seq, ts, M.Put(wal), rng.randbytes(32), ZERO, preview, "",
                                    [wal], 0)
            if puts % 50 == 0 and seq + 1 < n_actions:
                actions.append(action)
                cid = len(checkpoints)
                snap = M.StateSnapshot(len(frames), frames[-8:], None, rng.randbytes(32), wal,
                                       puts)
                rng.randbytes(32)  # (the draw kept, so that the rest of the data is unchanged)
                checkpoints.append(M.Checkpoint(cid, seq, ts, snapshot_state_hash(snap), snap))
                action = M.ReplayAction(seq + 1, ts, M.CheckpointAction(cid))
        elif r < 0.95:
            query = _text(rng, rng.randint(1, 5))
            hits = [rng.randrange(0, max(1, len(frames))) for _ in range(rng.randint(0, 10))]
            rng.randbytes(32)  # (the draw kept: the rest of the data is unchanged)
            action = M.ReplayAction(seq, ts, M.Find(query, "Tantivy", len(hits)),
                                    _query_hash(query), ZERO, query, "", hits, 0)
        else:
            query = _text(rng, rng.randint(3, 9))
            model = "nvidia:meta/llama3-8b-instruct"
            answer = _text(rng, rng.randint(10, 60)).capitalize()
            hits = [rng.randrange(0, max(1, len(frames))) for _ in range(rng.randint(0, 5))]
            rng.randbytes(32)
            action = M.ReplayAction(seq, ts, M.Ask(query, model, model), _query_hash(query),
                                    rng.randbytes(32), query, answer, hits, 0)
        actions.append(action)
    return M.ReplaySession(uuid.UUID(int=rng.getrandbits(128), version=4), f"bench-{n_actions}",
                           created, ts + 1 if ended else None, checkpoints, actions, {}, 1)


def make_active(n_actions: int, seed: int = 1) -> M.ActiveSession:
    """An ActiveSession (sidecar content) of `n_actions` actions, as memvid records it."""
    return make_active_from(make_session(n_actions, seed, ended=False))


def make_active_from(session: M.ReplaySession) -> M.ActiveSession:
    """The sidecar content for a session still being recorded (ended_secs None)."""
    since = len(session.actions) - (session.checkpoints[-1].at_sequence + 1
                                    if session.checkpoints else 0)
    return M.ActiveSession(session, len(session.checkpoints), since,
                           M.ReplayConfig(0, None, False))
