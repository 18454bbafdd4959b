"""Intercoder agreement: did coders who coded the same transcripts independently agree?

Two views, as reviewers ask for them:

- **by unit** (:func:`agreement`): the transcripts every coder coded are cut into
  units (speaker turns, or sentences within turns); for each code, each coder
  either applied it to a unit (a coding overlaps it) or did not. Per code and
  over all codes: percent agreement, Cohen's kappa (two coders), Fleiss' kappa,
  Krippendorff's alpha (nominal) and Brennan & Prediger's kappa (chance = 1/2
  for coded/not coded).
- **by segment** (:func:`segment_agreement`), as MAXQDA does it: each coded
  segment of either coder agrees when the other coder coded the same code on a
  segment overlapping it by at least ``overlap`` of their combined extent;
  kappa corrected for chance as Brennan & Prediger (chance = 1 / number of codes).

:func:`disagreements` lists the units the coders disagree on, with their text, for
the meeting where coders resolve them; :func:`consensus` then writes the agreed
and resolved codings under a consensus coder.

>>> agreement(study, ["ann", "ben"], unit="turn")          # doctest: +SKIP
                 code  units  percent_agreement  kappa  ...
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from chorus.analysis.frames import rows_frame
from chorus.coding.autocode import sentence_spans
from chorus.coding.codings import TurnIndex, add_coding
from chorus.errors import ChorusError, InputError
from chorus.ingest.files import Row, read_table
from chorus.study.kept import kept
from chorus.study.lookup import coder as get_coder
from chorus.study.lookup import find_code, find_transcript
from chorus.study.models import Code, Coder, Coding, Consensus, ConsensusDecision, Participant, Transcript, Turn, utcnow
from chorus.study.store import Study

Unit = Literal["turn", "sentence"]
Chance = Literal["cohen", "brennan-prediger"]
OVERALL = "(all codes)"


# -- the statistics, on a units x coders matrix of category labels ----------------------
# Each takes ``weights``, how many units each row stands for (one each if not given): every statistic
# depends only on how often each pattern of labels occurs, so a code's table is passed as its
# distinct patterns and their counts (:func:`patterns`), a few rows however many units there are.
def patterns(ratings: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct rows of ``ratings`` and how many times each occurs."""
    ratings = np.asarray(ratings)
    if ratings.shape[0] == 0:
        return ratings, np.zeros(0, dtype=np.int64)
    rows, counts = np.unique(ratings, axis=0, return_counts=True) if ratings.dtype.kind not in "iub" or ratings.min() < 0 \
        else _small_patterns(ratings)
    return rows, counts


def _small_patterns(ratings: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`patterns` of non-negative integer labels: each row read as a number in base (largest label + 1) and counted."""
    base = int(ratings.max()) + 1
    if base ** ratings.shape[1] > 1 << 24:
        return np.unique(ratings, axis=0, return_counts=True)
    places = base ** np.arange(ratings.shape[1], dtype=np.int64)
    counted = np.bincount(ratings.astype(np.int64) @ places)
    keys = np.flatnonzero(counted)
    return (keys[:, None] // places) % base, counted[keys]


def _weighted(ratings: np.ndarray, weights: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    ratings = np.asarray(ratings)
    return ratings, np.ones(ratings.shape[0]) if weights is None else np.asarray(weights, dtype=float)


def _label_counts(ratings: np.ndarray) -> np.ndarray:
    """Rows x labels: how many coders gave each label to each row."""
    return np.stack([(ratings == c).sum(axis=1) for c in np.unique(ratings)], axis=1).astype(float)


def percent_agreement(ratings: np.ndarray, weights: np.ndarray | None = None) -> float:
    """Share of units (rows) on which every coder (column) chose the same category."""
    ratings, weights = _weighted(ratings, weights)
    if weights.sum() == 0:
        return float("nan")
    return float(np.average(np.all(ratings == ratings[:, :1], axis=1), weights=weights))


def cohen_kappa(ratings: np.ndarray, weights: np.ndarray | None = None) -> float:
    """Cohen's kappa of exactly two coders (columns); NaN when chance agreement is total."""
    ratings, weights = _weighted(ratings, weights)
    if ratings.ndim != 2 or ratings.shape[1] != 2:
        raise ChorusError("Cohen's kappa compares exactly two coders; use Fleiss' kappa or alpha for more")
    if weights.sum() == 0:
        return float("nan")
    a, b = ratings[:, 0], ratings[:, 1]
    observed = np.average(a == b, weights=weights)
    expected = sum(np.average(a == c, weights=weights) * np.average(b == c, weights=weights) for c in np.unique(ratings))
    return _chance_corrected(observed, expected)


def fleiss_kappa(ratings: np.ndarray, weights: np.ndarray | None = None) -> float:
    """Fleiss' kappa for any number of coders who each rated every unit."""
    ratings, weights = _weighted(ratings, weights)
    raters = ratings.shape[1]
    if weights.sum() == 0 or raters < 2:
        return float("nan")
    counts = _label_counts(ratings)  # units x categories
    p_unit = (np.sum(counts * counts, axis=1) - raters) / (raters * (raters - 1))
    shares = weights @ counts / (weights.sum() * raters)
    return _chance_corrected(float(np.average(p_unit, weights=weights)), float(np.sum(shares * shares)))


def krippendorff_alpha(ratings: np.ndarray, weights: np.ndarray | None = None) -> float:
    """Krippendorff's alpha, nominal level, every coder rating every unit."""
    ratings, weights = _weighted(ratings, weights)
    raters = ratings.shape[1]
    if weights.sum() == 0 or raters < 2:
        return float("nan")
    counts = _label_counts(ratings)  # n_uc
    # coincidences o_ck = sum_u n_uc (n_uk - [c == k]) / (m_u - 1), m_u = raters for every unit
    coincidence = (counts.T @ (counts * weights[:, None]) - np.diag(weights @ counts)) / (raters - 1)
    n_c = coincidence.sum(axis=1)
    n = n_c.sum()
    if n <= 1:
        return float("nan")
    observed = coincidence.sum() - np.trace(coincidence)
    expected = (n * n - np.sum(n_c * n_c)) / (n - 1)
    if expected == 0:
        return float("nan")
    return float(1 - observed / expected)


def brennan_prediger(ratings: np.ndarray, categories: int = 2, weights: np.ndarray | None = None) -> float:
    """Kappa with chance agreement 1/q for q categories (Brennan & Prediger 1981)."""
    return _chance_corrected(percent_agreement(ratings, weights), 1 / categories)


def _chance_corrected(observed: float, expected: float) -> float:
    if np.isnan(observed) or np.isclose(expected, 1.0):
        return float("nan")
    return float((observed - expected) / (1 - expected))


# -- units and who coded them ---------------------------------------------------------------
@dataclass(frozen=True)
class _Unit:
    transcript: str
    turn: int  # ordinal
    sentence: int  # 0 for whole turns
    start: int
    end: int
    speaker: str


#: Beyond any transcript's length: unit and coding positions keyed as transcript rank x _SPAN + offset sort
#: by transcript, then offset, so one sorted search places every coding of every transcript.
_SPAN = 1 << 40


@dataclass
class UnitCodings:
    """The units of the transcripts all coders coded, and for each code and coder the units coded.

    ``units`` is a table (``transcript, turn, sentence, start, end, speaker``),
    one row per unit; ``pieces`` the part of each coding inside each unit it
    overlaps (columns ``code, unit, start, end``), which the consensus keeps
    where the coders agreed.
    """

    coders: list[str]
    codes: list[str]
    units: pd.DataFrame
    coded: dict[tuple[str, str], np.ndarray]  # (code, coder) -> bool per unit
    pieces: dict[str, np.ndarray]
    texts: dict[str, str]

    def ratings(self, code: str) -> np.ndarray:
        """Units x coders, 1 where the coder applied ``code``."""
        return np.stack([self.coded[(code, c)] for c in self.coders], axis=1).astype(int)

    def unit(self, index: int) -> _Unit:
        """The unit at ``index``."""
        row = self.units.iloc[index]
        return _Unit(row.transcript, int(row.turn), int(row.sentence), int(row.start), int(row.end), row.speaker)


def unit_codings(study: Study, coders: Sequence[str], unit: Unit = "turn", codes: Iterable[str] | None = None) -> UnitCodings:
    """Who coded what, by unit, over the transcripts every one of ``coders`` has coded.

    The units are participants' turns (or their sentences): what a facilitator
    said is not data the coders could disagree on.
    """
    coders = list(dict.fromkeys(coders))
    if len(coders) < 2:
        raise ChorusError("agreement needs at least two coders (--coders A B)")
    if unit not in ("turn", "sentence"):
        raise ChorusError(f"unknown unit {unit!r}; use 'turn' or 'sentence'")
    with study.reading() as session:
        found = {c.name: c.id for c in session.scalars(select(Coder).where(Coder.name.in_(coders)))}
        missing = [c for c in coders if c not in found]
        if missing:
            known = ", ".join(sorted(session.scalars(select(Coder.name)))) or "none"
            raise ChorusError(f"no coder called {', '.join(map(repr, missing))} in the study (coders: {known})")
        codings = rows_frame(session, (
            select(Coding.transcript_id, Code.name.label("code"), Coding.coder_id, Coding.start, Coding.end)
            .join(Code, Code.id == Coding.code_id)
            .where(Coding.coder_id.in_(found.values()))
        ))
        shared = set.intersection(*(set(codings.transcript_id[codings.coder_id == i]) for i in found.values()))
        if not shared:
            raise ChorusError(f"{' and '.join(coders)} have not coded any transcript in common; agreement needs the same transcripts")
        found_transcripts = session.execute(select(Transcript.id, Transcript.name, Transcript.text).where(Transcript.id.in_(shared))).all()
        turns = rows_frame(session, (  # the units are participants' turns: a facilitator's question is not coded data
            select(Turn.transcript_id, Turn.ordinal.label("turn"), Turn.start, Turn.end, Turn.speaker_label.label("speaker"))
            .join(Participant, Participant.id == Turn.participant_id)
            .where(Turn.transcript_id.in_(shared), Participant.role == "participant")
            .order_by(Turn.transcript_id, Turn.start)
        ))
    names = {i: name for i, name, _ in found_transcripts}
    texts = {name: text for _, name, text in found_transcripts}
    codings = codings[codings.transcript_id.isin(shared)]
    wanted = list(codes) if codes is not None else sorted(codings.code.unique().tolist())
    units = _units(turns, names, texts, unit)
    rank = {t: r for r, t in enumerate(sorted(shared))}
    where = units.transcript_id.map(rank).to_numpy(np.int64) * _SPAN
    keys, ends = where + units.start.to_numpy(np.int64), where + units.end.to_numpy(np.int64)
    pairs = {(code, c): n for n, (code, c) in enumerate((code, c) for code in wanted for c in coders)}
    coder_name = {i: n for n, i in found.items()}
    pair = np.array([pairs.get((code, coder_name[c]), -1) for code, c in zip(codings.code.tolist(), codings.coder_id.tolist())], dtype=np.int64)
    kept = codings[pair >= 0]
    pair = pair[pair >= 0]
    base = kept.transcript_id.map(rank).to_numpy(np.int64) * _SPAN
    starts, stops = base + kept.start.to_numpy(np.int64), base + kept.end.to_numpy(np.int64)
    # the units a coding overlaps: from the last one starting at or before it (not before its transcript's first)
    # to the last one starting before its end, less any that ends before it starts (a gap between turns)
    first = np.maximum(np.searchsorted(keys, starts, "right") - 1, np.searchsorted(keys, base, "left"))
    last = np.searchsorted(keys, stops, "left")
    counts = np.maximum(last - first, 0)
    which = np.repeat(np.arange(len(kept)), counts)
    index = np.repeat(first, counts) + np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    overlaps = ends[index] > starts[which]
    which, index = which[overlaps], index[overlaps]
    matrix = np.zeros((len(pairs), len(units)), dtype=bool)
    matrix[pair[which], index] = True
    coded = {key: matrix[n] for key, n in pairs.items()}
    pieces = {
        "code": np.asarray(kept.code.tolist(), dtype=object)[which], "unit": index,
        "start": np.maximum(starts[which], keys[index]) - base[which], "end": np.minimum(stops[which], ends[index]) - base[which],
    }
    return UnitCodings(coders, wanted, units.drop(columns="transcript_id"), coded, pieces, texts)


def _units(turns: pd.DataFrame, names: dict[int, str], texts: dict[str, str], unit: Unit) -> pd.DataFrame:
    """The units of the turns, in transcript and text order: the turns themselves, or their sentences."""
    turns = turns.assign(transcript=turns.transcript_id.map(names), sentence=0)
    if unit == "turn":
        return turns
    rows = [
        (t, name, ordinal, n, a, b, speaker)
        for t, name, ordinal, start, end, speaker in zip(*(turns[c].tolist() for c in ("transcript_id", "transcript", "turn", "start", "end", "speaker")))
        for n, (a, b) in enumerate(sentence_spans(texts[name], start, end), start=1)  # cut as autocoding's sentence scope cuts them
    ]
    return pd.DataFrame(rows, columns=["transcript_id", "transcript", "turn", "sentence", "start", "end", "speaker"])


def agreement(
    study: Study, coders: Sequence[str], unit: Unit = "turn", codes: Iterable[str] | None = None, chance: Chance = "cohen"
) -> pd.DataFrame:
    """Agreement per code, and over all codes, between coders who coded the same transcripts.

    One row per code (and a last row, ``(all codes)``, over every code-unit
    decision): ``units``, ``coded`` (units any coder coded), ``percent_agreement``,
    ``kappa`` (Cohen's for two coders, Fleiss' for more; Brennan & Prediger's when
    ``chance="brennan-prediger"``), ``cohen_kappa``, ``fleiss_kappa``,
    ``brennan_prediger``, ``alpha`` (Krippendorff, nominal). Undefined values
    (a code nobody or everybody applied everywhere) are NaN.
    """
    return _agreement_of(unit_codings(study, coders, unit, codes), chance)


def comparison(
    study: Study, coders: Sequence[str], unit: Unit = "turn", codes: Iterable[str] | None = None, chance: Chance = "cohen"
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """:func:`agreement` and :func:`disagreements` of the same coders, their codings read once (a page shows both).

    Kept per version of the study (:func:`chorus.study.kept.kept`): the agreement page
    paged through or revisited compares nothing again.

    >>> table, listed = comparison(study, ["ann", "ben"])      # doctest: +SKIP
    """
    def compare() -> tuple[pd.DataFrame, pd.DataFrame]:
        table = unit_codings(study, coders, unit, codes)
        return _agreement_of(table, chance), _with_decisions(study, coders, unit, _disagreements_of(table))

    return kept(study, ("comparison", tuple(coders), unit, None if codes is None else tuple(codes), chance), compare)


def _agreement_of(table: UnitCodings, chance: Chance) -> pd.DataFrame:
    rows = []
    blocks = []
    for code in table.codes:
        ratings = table.ratings(code)
        blocks.append(ratings)
        rows.append(_row(code, ratings, chance))
    rows.append(_row(OVERALL, np.concatenate(blocks) if blocks else np.zeros((0, len(table.coders)), dtype=int), chance))
    return pd.DataFrame(rows)


def _row(code: str, ratings: np.ndarray, chance: Chance) -> dict[str, object]:
    two = ratings.shape[1] == 2
    rows, weights = patterns(ratings)
    cohen = cohen_kappa(rows, weights) if two else float("nan")
    fleiss = fleiss_kappa(rows, weights)
    bp = brennan_prediger(rows, weights=weights)
    return {
        "code": code,
        "units": int(ratings.shape[0]),
        "coded": int(weights[np.any(rows == 1, axis=1)].sum()),
        "percent_agreement": percent_agreement(rows, weights),
        "kappa": bp if chance == "brennan-prediger" else cohen if two else fleiss,
        "cohen_kappa": cohen,
        "fleiss_kappa": fleiss,
        "brennan_prediger": bp,
        "alpha": krippendorff_alpha(rows, weights),
    }


def disagreements(study: Study, coders: Sequence[str], unit: Unit = "turn", codes: Iterable[str] | None = None) -> pd.DataFrame:
    """The units where the coders disagree, with their text, to resolve together.

    Columns: ``transcript, turn, sentence, speaker, code, coded_by, not_coded_by,
    text``, and an empty ``decision`` and ``recode_to`` for the meeting to fill in
    (``keep``, ``drop``, or ``recode`` with the code it should have had) before
    :func:`consensus` reads it back; decisions already stored (:func:`decide`) are
    filled in.
    """
    return _with_decisions(study, coders, unit, _disagreements_of(unit_codings(study, coders, unit, codes)))


def _disagreements_of(table: UnitCodings) -> pd.DataFrame:
    columns = ["transcript", "turn", "sentence", "speaker", "code", "coded_by", "not_coded_by", "text", "decision", "recode_to"]
    weights = 1 << np.arange(len(table.coders))
    parts = []
    for code in table.codes:
        ratings = table.ratings(code)
        index = np.flatnonzero(ratings.min(axis=1) != ratings.max(axis=1))
        pattern = ratings[index] @ weights  # who coded it, as bits
        said = {int(p): (", ".join(c for n, c in enumerate(table.coders) if p >> n & 1), ", ".join(c for n, c in enumerate(table.coders) if not p >> n & 1))
                for p in np.unique(pattern)}
        units = table.units.iloc[index]
        parts.append(units[["transcript", "turn", "sentence", "speaker"]].assign(
            code=code, coded_by=[said[p][0] for p in pattern.tolist()], not_coded_by=[said[p][1] for p in pattern.tolist()],
            text=[table.texts[t][a:b] for t, a, b in zip(units.transcript.tolist(), units.start.tolist(), units.end.tolist())], decision="", recode_to="",
        ))
    return pd.concat(parts, ignore_index=True)[columns] if parts else pd.DataFrame(columns=columns)


def segment_agreement(study: Study, coders: Sequence[str], overlap: float = 0.9, codes: Iterable[str] | None = None) -> pd.DataFrame:
    """MAXQDA-style agreement on coded segments of two coders.

    A segment of one coder agrees when the other coded the same code on a
    segment of the same transcript whose overlap is at least ``overlap`` of the
    two segments' combined extent (intersection over union). One row per code and
    ``(all codes)``: ``agree``, ``disagree``, ``percent_agreement``, and for the
    overall row ``kappa`` corrected for chance as Brennan & Prediger with chance
    1/number of codes.
    """
    coders = list(dict.fromkeys(coders))
    if len(coders) != 2:
        raise ChorusError("segment agreement compares exactly two coders")
    if not 0 < overlap <= 1:
        raise ChorusError(f"overlap must be a share between 0 and 1 (90% is 0.9), not {overlap}")
    table = unit_codings(study, coders, "turn", codes)  # checks the coders and the shared transcripts
    shared = set(table.texts)
    with study.reading() as session:
        rows = session.execute(
            select(Transcript.name, Code.name, Coder.name, Coding.start, Coding.end)
            .join(Transcript, Transcript.id == Coding.transcript_id).join(Code, Code.id == Coding.code_id)
            .join(Coder, Coder.id == Coding.coder_id).where(Coder.name.in_(coders))
        ).all()
    segments: dict[tuple[str, str, str], list[tuple[int, int]]] = {}
    for transcript, code, coder, start, end in rows:
        if transcript in shared and code in table.codes:
            segments.setdefault((transcript, code, coder), []).append((start, end))
    result = []
    totals = [0, 0]
    for code in table.codes:
        agree = disagree = 0
        for transcript in sorted(shared):
            for me, other in (coders, coders[::-1]):
                theirs = segments.get((transcript, code, other), [])
                for start, end in segments.get((transcript, code, me), []):
                    if any(_overlap(start, end, s, e) >= overlap for s, e in theirs):
                        agree += 1
                    else:
                        disagree += 1
        totals[0] += agree
        totals[1] += disagree
        result.append({"code": code, "agree": agree, "disagree": disagree, "percent_agreement": _share(agree, disagree), "kappa": float("nan")})
    observed = _share(*totals)
    kappa = _chance_corrected(observed, 1 / len(table.codes)) if table.codes else float("nan")
    result.append({"code": OVERALL, "agree": totals[0], "disagree": totals[1], "percent_agreement": observed, "kappa": kappa})
    return pd.DataFrame(result)


def _overlap(a: int, b: int, c: int, d: int) -> float:
    inter = min(b, d) - max(a, c)
    return inter / (max(b, d) - min(a, c)) if inter > 0 else 0.0


def _share(agree: int, disagree: int) -> float:
    return agree / (agree + disagree) if agree + disagree else float("nan")


#: What a meeting may decide about a disagreement.
DECISIONS = ("keep", "drop", "recode")


def comparison_key(coders: Sequence[str]) -> str:
    """The coders of a comparison as its decisions are stored: sorted, comma-joined (the order they were named in does not matter)."""
    return ",".join(sorted({c.strip() for c in coders if c.strip()}))


def decide(
    study: Study, coders: Sequence[str], transcript: str, turn: int, sentence: int, code: str, decision: str,
    recode_to: str = "", unit: Unit = "turn",
) -> None:
    """Store what the coders decided about one disagreement, as it is made: ``keep``, ``drop``, ``recode`` (to
    ``recode_to``), or ``""`` to take a decision back.

    Stored in the study (and its audit trail) under the comparison of ``coders``
    by ``unit``, so a refused write, a reload or a second person's visit loses
    none; :func:`disagreements` shows it and :func:`consensus` writes it.

    >>> decide(study, ["ann", "ben"], "FG01", 4, 0, "Funding", "recode", "Unclear roles")   # doctest: +SKIP
    """
    decision, recode_to = decision.strip().casefold(), recode_to.strip()
    if decision and decision not in DECISIONS:
        raise ChorusError(f"decision {decision!r} is not one of {', '.join(DECISIONS)}")
    if decision == "recode" and not recode_to:
        raise ChorusError("a 'recode' decision names the code to recode to")
    key = comparison_key(coders)
    if len(key.split(",")) < 2:
        raise ChorusError("a decision settles a disagreement between two coders or more")
    with study.transaction() as session:
        found = find_transcript(session, transcript, text=False)
        find_code(session, code)
        if decision == "recode":
            find_code(session, recode_to)
        _store_decision(session, key, unit, found.id, int(turn), int(sentence), code, decision, recode_to if decision == "recode" else None)


def _store_decision(
    session: Session, key: str, unit: str, transcript_id: int, turn: int, sentence: int, code: str, decision: str, recode_to: str | None,
) -> None:
    """Insert, change or (an empty decision) remove one stored decision, in the caller's transaction."""
    stored = session.scalar(select(ConsensusDecision).where(
        ConsensusDecision.coders == key, ConsensusDecision.unit == unit, ConsensusDecision.transcript_id == transcript_id,
        ConsensusDecision.turn == turn, ConsensusDecision.sentence == sentence, ConsensusDecision.code == code,
    ))
    actor = session.info.get("actor") or "unknown"
    if not decision:
        if stored is not None:
            session.delete(stored)
    elif stored is None:
        session.add(ConsensusDecision(coders=key, unit=unit, transcript_id=transcript_id, turn=turn, sentence=sentence, code=code,
                                      decision=decision, recode_to=recode_to, decided_by=actor))
    elif (stored.decision, stored.recode_to) != (decision, recode_to):
        stored.decision, stored.recode_to, stored.decided_by, stored.decided_at = decision, recode_to, actor, utcnow()


def _stored_decisions(session: Session, coders: Sequence[str], unit: str) -> dict[tuple[str, int, int, str], tuple[str, str, str]]:
    """The decisions stored for a comparison, keyed as :func:`_decisions` keys a decisions file."""
    rows = session.execute(
        select(Transcript.name, ConsensusDecision.turn, ConsensusDecision.sentence, ConsensusDecision.code, ConsensusDecision.decision,
               ConsensusDecision.recode_to)
        .join(Transcript, Transcript.id == ConsensusDecision.transcript_id)
        .where(ConsensusDecision.coders == comparison_key(coders), ConsensusDecision.unit == unit)
    ).all()
    return {(t, n, s, c): (d, r or "", "a decision stored in the study") for t, n, s, c, d, r in rows}


def _record(
    study: Study, table: UnitCodings, unit: str, given: dict[tuple[str, int, int, str], tuple[str, str, str]], path: str | Path | None,
) -> None:
    """Store decisions read from a file or a page (:func:`_decisions`), all or none: a recode to a code not in the codebook stores none."""
    key = comparison_key(table.coders)
    with study.transaction() as session:
        ids = dict(session.execute(select(Transcript.name, Transcript.id).where(Transcript.name.in_(table.texts))).all())
        for (transcript, turn, sentence, code), (decision, recoded, place) in given.items():
            if recoded:
                try:
                    find_code(session, recoded)
                except ChorusError as exc:
                    raise InputError(str(exc), path=path, place=place) from None
            if transcript not in ids:
                raise InputError(f"transcript {transcript!r} is not one the coders were compared on", path=path, place=place)
            _store_decision(session, key, unit, ids[transcript], turn, sentence, code, decision, recoded or None)


def _with_decisions(study: Study, coders: Sequence[str], unit: str, listed: pd.DataFrame) -> pd.DataFrame:
    """The disagreements with the decisions stored for them filled in."""
    with study.reading() as session:
        stored = _stored_decisions(session, coders, unit)
    if not stored or listed.empty:
        return listed
    keys = zip(listed["transcript"].tolist(), listed["turn"].tolist(), listed["sentence"].tolist(), listed["code"].tolist())
    found = [stored.get((t, int(n), int(s), c), ("", "", "")) for t, n, s, c in keys]
    return listed.assign(decision=[d for d, _, _ in found], recode_to=[r for _, r, _ in found])


def consensus(
    study: Study, coders: Sequence[str], into: str = "consensus", unit: Unit = "turn",
    decisions: str | Path | Sequence[Row] | None = None, codes: Iterable[str] | None = None,
) -> dict[str, int]:
    """Write the consensus coding under coder ``into``: what all coders agreed on, plus resolved disagreements.

    The decisions are those stored as they were made (:func:`decide`) and those in
    ``decisions``, the :func:`disagreements` table (CSV/XLSX, or its rows as the web
    page sends them) with its ``decision`` column filled in, which are stored too
    and win over stored ones: ``keep`` keeps the words its coder coded, ``drop``
    leaves them, ``recode`` codes them with the code in ``recode_to`` instead; a
    disagreement without a decision stays uncoded and is counted as ``unresolved``.
    Agreed units keep the coders' own spans within the unit (their union), and a
    kept or recoded one its coder's spans, never the whole unit around them; what the
    decisions give one code in one place is written as one coding, so a turn kept
    with one coder's code and recoded to it from the other's has that code once.

    The consensus is recorded (coders, transcripts, when), so the findings count
    it on its transcripts (:mod:`chorus.study.counting`). Writing it again replaces
    the earlier consensus of those transcripts, in one transaction. The decisions
    given are stored first, all or none (one naming a code the comparison does
    not hold, or one not in the codebook, stores nothing), so a write refused
    after them loses none.

    >>> consensus(study, ["ann", "ben"], decisions="disagreements.csv")    # doctest: +SKIP
    {'agreed': 41, 'kept': 6, 'dropped': 3, 'recoded': 1, 'unresolved': 0}
    """
    table = unit_codings(study, coders, unit, codes)
    if into.strip() in table.coders:
        raise ChorusError(f"the consensus is stored under a coder of its own, not {into!r}, one of the coders compared")
    if decisions is not None:  # stored first, in a transaction of their own: a write refused below loses none of them
        _record(study, table, unit, _decisions(decisions, set(table.codes)), decisions if isinstance(decisions, (str, Path)) else None)
    summary = {"agreed": 0, "kept": 0, "dropped": 0, "recoded": 0, "unresolved": 0}
    with study.transaction() as session:
        coder = get_coder(session, into)
        record = session.scalar(select(Consensus).where(Consensus.coder_id == coder.id))
        if record is None and session.scalar(select(Coding.id).where(Coding.coder_id == coder.id).limit(1)) is not None:
            raise ChorusError(f"coder {into!r} has codings of their own; store the consensus under another name")
        transcripts = {t.name: t for t in session.scalars(select(Transcript).where(Transcript.name.in_(table.texts)))}
        decided = _stored_decisions(session, table.coders, unit)
        compared = session.scalars(select(Code).where(Code.name.in_(table.codes))).all()
        code_rows = {c.name: c for c in compared}
        for _, recoded, _ in decided.values():
            if recoded and recoded not in code_rows:
                code_rows[recoded] = find_code(session, recoded)
        if record is not None:  # the earlier consensus of these transcripts gives way
            session.execute(delete(Coding).where(Coding.coder_id == coder.id, Coding.transcript_id.in_([t.id for t in transcripts.values()])))
        pieces: dict[tuple[str, int], list[tuple[int, int]]] = {}
        for code, index, start, end in zip(*(table.pieces[c].tolist() for c in ("code", "unit", "start", "end"))):
            pieces.setdefault((code, index), []).append((start, end))
        # (transcript, code id) -> spans, written once per code: a recode names its code by path ("Benefits/Collaboration"),
        # a kept coding by name ("Collaboration"), and both on one turn are one coding
        written: dict[tuple[str, int], list[tuple[int, int]]] = {}
        for code in table.codes:
            ratings = table.ratings(code)
            for index in np.flatnonzero(ratings.max(axis=1) == 1):
                u = table.unit(int(index))
                decision, recoded, _ = decided.get((u.transcript, u.turn, u.sentence, code), ("", "", ""))
                target = code
                if ratings[index].min() == 1:
                    spans = pieces[(code, int(index))]
                    summary["agreed"] += 1
                elif decision in ("keep", "recode"):  # the words the coder coded, not the whole unit around them
                    spans, target = pieces[(code, int(index))], recoded or code
                    summary["kept" if decision == "keep" else "recoded"] += 1
                else:
                    summary["dropped" if decision == "drop" else "unresolved"] += 1
                    continue
                written.setdefault((u.transcript, code_rows[target].id), []).extend(spans)
        indexes = {name: TurnIndex(t) for name, t in transcripts.items()}
        by_id = {c.id: c for c in code_rows.values()}
        for (transcript, target_id), spans in sorted(written.items()):
            for start, end in _union(spans):
                add_coding(session, transcripts[transcript], by_id[target_id], coder, start, end, index=indexes[transcript])
        written_ids = {t.id for t in transcripts.values()}
        cells = [[t, c.id] for t in sorted(written_ids) for c in compared]
        actor = session.info.get("actor") or study.actor
        if record is None:
            session.add(Consensus(coder_id=coder.id, coders=list(table.coders), cells=cells, unit=unit, written_by=actor))
        else:
            record.coders, record.unit, record.written_by, record.written_at = list(table.coders), unit, actor, utcnow()
            record.cells = [cell for cell in record.cells if cell[0] not in written_ids] + cells
    return summary


def _decisions(given: str | Path | Sequence[Row], compared: set[str]) -> dict[tuple[str, int, int, str], tuple[str, str, str]]:
    """The decided disagreements: (transcript, turn, sentence, code) -> (decision, code to recode to, place)."""
    path = Path(given) if isinstance(given, (str, Path)) else None
    decided = {}
    for row in read_table(path) if path is not None else given:
        decision = str(row.values.get("decision") or "").strip().casefold()
        if not decision:
            continue
        try:
            key = (str(row.values["transcript"]), int(row.values["turn"]), int(row.values["sentence"]), str(row.values["code"]))
        except KeyError as exc:
            raise InputError(f"no {exc.args[0]!r} value; keep the columns chorus agreement wrote", path=path, place=row.place) from None
        except (TypeError, ValueError):
            raise InputError("turn and sentence must be whole numbers", path=path, place=row.place) from None
        if decision not in DECISIONS:
            raise InputError(f"decision {decision!r} is not one of {', '.join(DECISIONS)}", path=path, place=row.place)
        if key[3] not in compared:
            raise InputError(f"code {key[3]!r} is not one the coders were compared on ({', '.join(sorted(compared))})", path=path, place=row.place)
        recoded = str(row.values.get("recode_to") or "").strip()
        if decision == "recode" and not recoded:
            raise InputError("a 'recode' decision names the code in 'recode_to'", path=path, place=row.place)
        decided[key] = (decision, recoded if decision == "recode" else "", row.place)
    return decided


def _union(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged
