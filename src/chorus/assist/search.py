"""Search by meaning: the passages nearest a sentence, with the filters the Segments page has.

A researcher remembers what was said, not the words: "families who hear
palliative as giving up" finds the turns that say so in other words. The
query and every segment are placed by the same local model as suggestions and
candidates (:mod:`chorus.assist.embedders`), each passage read in its
conversation (:func:`chorus.assist.embeddings.segment_vectors`: precision at 10
with each code's definition as the query, minilm, issue 43: the ICU study
written outside the project 0.33 read alone, 0.35 so; the demo 0.43 and 0.47;
the second study 0.49 and 0.54), and the passages are ranked by cosine; filters narrow them first (a code, a discipline, a group, a coder's
codings, or the uncoded passages only). "More like this" is the same search with a
coding's passage as the query (:func:`more_like`).

>>> search(study, "families who hear palliative as giving up", discipline="nurse")   # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from sqlalchemy import select

from chorus.assist.candidates import code_segments
from chorus.assist.embedders import DEFAULT
from chorus.assist.embeddings import embed, segment_table, segment_vectors
from chorus.errors import ChorusError
from chorus.study.lookup import code_path, code_paths, find_code
from chorus.study.lookup import coder as get_coder
from chorus.study.models import Coder, Coding, Transcript
from chorus.study.store import Study

COLUMNS = ["segment", "score", "transcript", "group", "turn", "speaker", "discipline", "codes", "text"]


def search(
    study: Study, query: str, limit: int = 10, code: str | None = None, discipline: str | None = None, group: str | None = None,
    coder: str | None = None, uncoded: bool = False, embedder: str = DEFAULT, transcript: str | None = None, cached_only: bool = False,
) -> pd.DataFrame:
    """The ``limit`` passages nearest ``query`` in meaning, best first, among those the filters keep.

    ``code`` keeps passages coded with it (or a code under it), ``coder`` those
    someone coded as that coder, ``discipline`` and ``group`` those of speakers
    of that discipline or group, ``transcript`` those of one transcript, ``uncoded`` those nobody has coded.
    With ``cached_only`` a study whose passages are not all read yet raises
    :class:`chorus.assist.embeddings.NotRead` instead of reading them here (a page
    request; a background job reads them: :func:`chorus.assist.jobs.submit_reading`). Columns:
    ``segment`` (``transcript@start-end``, to code from the list), ``score``
    (cosine, -1 to 1), ``transcript, group, turn, speaker, discipline``,
    ``codes`` (the codes already on it) and ``text``.
    """
    if not query.strip():
        raise ChorusError("search for something: the query is empty")
    if limit < 1:
        raise ChorusError(f"ask for at least one passage, not {limit}")
    table = segment_table(study)
    on, codings = _codes_on(study, table)

    def having(coding_kept: np.ndarray) -> np.ndarray:
        """Which segments a coding of those ``coding_kept`` marks overlaps."""
        hit = np.zeros(len(table), dtype=bool)
        hit[on[0][coding_kept[on[1]]]] = True
        return hit

    keep = np.ones(len(table), dtype=bool)
    if code is not None:
        with study.reading() as session:
            wanted = code_path(find_code(session, code))
        keep &= having(np.array([c == wanted or c.startswith(wanted + "/") for c, _ in codings], dtype=bool))
    if coder is not None:
        keep &= having(np.array([who == coder for _, who in codings], dtype=bool))
    if discipline is not None:
        keep &= (table["discipline"].fillna("") == discipline).to_numpy()
    if group is not None:
        keep &= (table["group"].fillna("") == group).to_numpy()
    if transcript is not None:
        keep &= (table["transcript"] == transcript).to_numpy()
    if uncoded:
        keep &= ~having(np.ones(len(codings), dtype=bool))
    vectors = segment_vectors(study, table, embedder, cached_only=cached_only)  # each passage read in its conversation, as suggestions read it
    found = table[keep].reset_index(drop=True)
    if found.empty:
        return pd.DataFrame(columns=COLUMNS)
    vectors = vectors[keep]
    scores = vectors @ embed(study, [query.strip()], embedder=embedder)[0]
    order = np.argsort(-scores, kind="stable")[:limit]
    positions = np.flatnonzero(keep)
    kept_codes = {i: sorted({codings[j][0] for j in on[1][on[0] == positions[i]]}) for i in order}
    rows = [{
        "segment": found.at[i, "segment"], "score": round(float(scores[i]), 3), "transcript": found.at[i, "transcript"],
        "group": found.at[i, "group"], "turn": found.at[i, "turn"], "speaker": found.at[i, "speaker"],
        "discipline": found.at[i, "discipline"], "codes": "; ".join(kept_codes[i]), "text": found.at[i, "text"],
    } for i in order]
    return pd.DataFrame(rows, columns=COLUMNS)


def more_like(
    study: Study, coding: int, limit: int = 10, uncoded: bool = True, embedder: str = DEFAULT, cached_only: bool = False,
) -> pd.DataFrame:
    """"More like this": the passages nearest a coding's passage (by default those nobody has coded yet), itself left out."""
    *own, text = _passage(study, coding)
    results = search(study, text, limit + 1, uncoded=uncoded, embedder=embedder, cached_only=cached_only)
    spans = [(r.partition("@")[0], *map(int, r.rpartition("@")[2].split("-"))) for r in results.segment]
    overlapping = [t == own[0] and a < own[2] and b > own[1] for t, a, b in spans]
    return results[[not o for o in overlapping]].head(limit).reset_index(drop=True)


def code_passages(study: Study, segments: Sequence[str], code: str, coder: str) -> int:
    """Code the passages ``segments`` (ids as :func:`search` gives them) with the existing ``code``, as ``coder``; returns how many.

    What a researcher does with the passages a search found: tick those that say it, choose the code.
    """
    if not segments:
        raise ChorusError("tick at least one passage to code")
    with study.transaction() as session:
        code_segments(session, find_code(session, code), get_coder(session, coder), segments)
    return len(segments)


def coding_text(study: Study, coding: int) -> str:
    """The passage coding ``coding`` covers (what "more like this" searches with), or refused if there is no such coding."""
    return _passage(study, coding)[-1]


def _passage(study: Study, coding: int) -> tuple[str, int, int, str]:
    """Coding ``coding``'s transcript, start, end and words, read once; refused if there is no such coding."""
    with study.reading() as session:
        found = session.get(Coding, coding)
        if found is None:
            raise ChorusError(f"there is no coding #{coding}")
        return found.transcript.name, found.start, found.end, found.transcript.text[found.start:found.end]


def _codes_on(study: Study, table: pd.DataFrame) -> tuple[tuple[np.ndarray, np.ndarray], list[tuple[str, str]]]:
    """Which codings overlap which segments: the pairs (segment positions, coding positions), and each coding's (code path, coder).

    One overlap matrix per transcript, not a Python loop per pair: 22,000 codings of 19,440 segments in a tenth of a second.
    """
    with study.reading() as session:
        rows = session.execute(select(Transcript.name, Coding.start, Coding.end, Coding.code_id, Coder.name)
                               .join(Transcript, Transcript.id == Coding.transcript_id).join(Coder, Coder.id == Coding.coder_id)).all()
        paths = code_paths(session)
    codings = [(paths[code_id], who) for _, _, _, code_id, who in rows]
    by_transcript: dict[str, list[int]] = {}
    for position, row in enumerate(rows):
        by_transcript.setdefault(row[0], []).append(position)
    starts, ends = table["start"].to_numpy(), table["end"].to_numpy()
    begin, finish = np.array([r[1] for r in rows], dtype=np.int64), np.array([r[2] for r in rows], dtype=np.int64)
    segments, marks = [np.zeros(0, dtype=np.int64)], [np.zeros(0, dtype=np.int64)]
    for name, members in table.groupby("transcript", sort=False).indices.items():
        mine = np.array(by_transcript.get(name, []), dtype=np.int64)
        if not len(mine):
            continue
        overlap = (begin[mine][None, :] < ends[members][:, None]) & (finish[mine][None, :] > starts[members][:, None])
        row, column = np.nonzero(overlap)
        segments.append(members[row])
        marks.append(mine[column])
    return (np.concatenate(segments), np.concatenate(marks)), codings
