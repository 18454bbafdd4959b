"""Segments of the transcripts and their embeddings, computed locally and cached in the store.

A *segment* is a participant's turn, or, for a long turn, a run of its sentences
(at most :data:`MAX_WORDS` words), so a cluster or a suggestion points at a
passage a coder can read at a glance.

Vectors come from one of the local models in :mod:`chorus.assist.embedders`
(``minilm`` by default) and are cached in the study by the hash of model and
text, so edited text is embedded again and unchanged text never is, and
switching models keeps each model's vectors apart. Suggestions and candidate
codes read each segment in its conversation (:func:`segment_vectors`).
"""
from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable

import numpy as np
import pandas as pd
from sqlalchemy import select

from chorus.assist.embedders import DEFAULT, load_embedder
from chorus.coding.autocode import sentence_spans
from chorus.errors import ChorusError
from chorus.study.models import Embedding, Group, Participant, Transcript, Turn
from chorus.study.store import Study, bulk_insert

MAX_WORDS = 80
#: How much of each neighbouring segment a segment is read with: a focus group stays on a question for several turns.
CONTEXT = 0.25
#: How much of its group's mean meaning a segment loses before clustering: what a whole group shares is who it is, not a theme.
GROUP_SHARE = 0.3
SEGMENT_COLUMNS = ["segment", "transcript", "group", "turn", "speaker", "discipline", "care_team", "start", "end", "text"]


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


class NotRead(ChorusError):
    """Some texts are not in the study's cache of embeddings yet, and the caller asked not to embed them here (a page request)."""

    def __init__(self, missing: int, embedder: str):
        super().__init__(f"{missing} passages are not read with {embedder} yet; they are read once, in the background")
        self.missing, self.embedder = missing, embedder


def _key(model: str, text: str) -> str:
    return hashlib.sha256(f"{model}\0{text}".encode("utf-8")).hexdigest()


def embed(
    study: Study, texts: list[str], progress: Callable[[int, int], None] | None = None, embedder: str = DEFAULT,
    cached_only: bool = False,
) -> np.ndarray:
    """Embeddings of ``texts`` by ``embedder`` (unit length, one row each), from the study's cache where it has them.

    With ``cached_only``, a text not in the cache raises :class:`NotRead` instead of
    being embedded: a page request reads vectors, a background job makes them.
    """
    model = load_embedder(embedder)
    keys = [_key(model.name, t) for t in texts]
    found: dict[str, np.ndarray] = {}
    with study.reading() as session:
        for batch in range(0, len(keys), 5000):
            wanted = list(set(keys[batch:batch + 5000]))
            for key, vector in session.execute(select(Embedding.key, Embedding.vector).where(Embedding.key.in_(wanted))):
                found[key] = np.frombuffer(vector, dtype="<f4")
    first = {k: i for i, k in reversed(list(enumerate(keys)))}  # one text per key: repeats are encoded once
    missing = sorted(i for k, i in first.items() if k not in found)
    if missing and cached_only:
        raise NotRead(len(missing), embedder)
    if missing:
        fresh = {}
        for batch in range(0, len(missing), 1000):
            part = missing[batch:batch + 1000]
            for i, vector in zip(part, model.encode([texts[i] for i in part])):
                fresh[keys[i]] = vector
            if progress:
                progress(min(batch + len(part), len(missing)), len(missing))
        with study.transaction() as session:
            bulk_insert(session, Embedding.__table__, ("key", "model", "vector"),
                        [(k, model.name, v.astype("<f4").tobytes()) for k, v in fresh.items()])
        found.update(fresh)
    return np.vstack([found[k] for k in keys]) if keys else np.zeros((0, 1), dtype=np.float32)


def in_conversation(vectors: np.ndarray, transcripts: list[str]) -> np.ndarray:
    """Each segment's vector plus :data:`CONTEXT` of the segments before and after it in its transcript, at unit length.

    ``transcripts`` names each segment's transcript, the segments in conversation
    order. A turn answers the one before it ("I would agree", "same for us"), so
    what it is about is partly said around it. Measured with ``chorus suggest
    evaluate`` (minilm, 2026-12-01, the demo then coded by pattern alone):
    suggestion F1 0.76 -> 0.77 on the demo and 0.70 -> 0.77 on the second
    study; candidate codes over ten seeds recover on average 6.6 of the demo's
    7 seed themes (5.6 read alone) and 5.8 of the second study's (5.5);
    model2vec and GloVe gain as much or more.
    """
    names = np.asarray(transcripts, dtype=object)
    read = vectors.astype(np.float32, copy=True)
    same = names[1:] == names[:-1]  # segments i and i + 1 are in the same conversation
    read[1:][same] += CONTEXT * vectors[:-1][same]
    read[:-1][same] += CONTEXT * vectors[1:][same]
    return read / np.maximum(np.linalg.norm(read, axis=1, keepdims=True), 1e-12)


def segment_vectors(
    study: Study, table: pd.DataFrame, embedder: str = DEFAULT, progress: Callable[[int, int], None] | None = None, cached_only: bool = False,
) -> np.ndarray:
    """The segments of ``table`` (all of :func:`segment_table`, in its order) by ``embedder``, each read in its conversation.

    ``progress(done, total)`` follows the passages embedded (none when all are cached); ``cached_only`` as for :func:`embed`.
    """
    texts, transcripts = table["text"].tolist(), table["transcript"].tolist()
    key = (study.url, embedder, hashlib.sha256("\0".join(texts + transcripts).encode("utf-8")).hexdigest())
    with _LOCK:
        if key in _READ:
            _READ.move_to_end(key)
            return _READ[key]
    read = in_conversation(embed(study, texts, progress, embedder, cached_only), transcripts)
    read.setflags(write=False)  # shared by every caller in this process: read, never changed
    with _LOCK:
        _READ[key] = read
        while len(_READ) > READ_KEPT:
            _READ.popitem(last=False)
    return read


#: How many studies' segment vectors the process keeps (the same texts read again are not fetched from the store again:
#: a search on the reference study's 19,440 segments answers in 0.5 s instead of 0.8 s).
READ_KEPT = 4
_READ: OrderedDict[tuple[str, str, str], np.ndarray] = OrderedDict()
_LOCK = threading.Lock()


def apart_from_group(vectors: np.ndarray, transcripts: list[str]) -> np.ndarray:
    """Each segment's vector less :data:`GROUP_SHARE` of its transcript's mean vector, at unit length: for clustering.

    A group of nurses, or of pharmacists, talks in its own words about every
    theme, so its segments cluster by group; taking part of the group's mean
    away leaves more of what each says. Measured with k-means over ten seeds
    (minilm, issue 43): codes found on average on the ICU sepsis-alert study
    written outside the project 4.6 -> 6.2 of 10 (5.7 taking half the mean away,
    5.1 all of it), on the demo 9.7 -> 9.9 of 10, on the second study 5.8 -> 6.5 of 7.
    """
    names = np.asarray(transcripts, dtype=object)
    apart = vectors.astype(np.float32, copy=True)
    for name in set(transcripts):
        mine = names == name
        apart[mine] -= GROUP_SHARE * vectors[mine].mean(axis=0)
    return apart / np.maximum(np.linalg.norm(apart, axis=1, keepdims=True), 1e-12)
