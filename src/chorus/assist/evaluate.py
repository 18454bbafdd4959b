"""How much the AI finds, measured on any coded study: suggestions against hidden codings, candidates against the codes.

Two questions a researcher asks before trusting the assistant, answered on
their own coded study (or the demo, or the second study Chorus ships):

* **Suggestions.** Hide the codings of a share of the transcripts (seeded),
  as if the coder had coded the others; learn from those; suggest on the
  hidden ones at the calibrated thresholds; count per code what was right.
  Every transcript is hidden once (one fold per share), so each figure covers
  the whole study. Or hide a share of each code's codings instead (``unit="coding"``).
* **Candidate codes.** Forget the codes, cluster every segment, and ask of
  each code: which candidate holds most of its segments (its *share*), and is
  the code that candidate's majority (more than half of its segments)? A code
  so found is *recovered*: an inductive coder would have met it. k-means
  depends on its seed, so one clustering is one draw: ``clusterings`` redoes it
  with the seeds that follow and says in how many each code was found (Ward's
  clustering, the default up to 2,000 segments, gives one answer whatever the seed).

Nothing in the study changes but the cache of embeddings.

>>> result = evaluate(study, embedder="minilm")                # doctest: +SKIP
>>> result.summary()["f1"]                                   # doctest: +SKIP
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import NamedTuple

import numpy as np
import pandas as pd
from sqlalchemy import func, select

from chorus.assist import llm
from chorus.assist.candidates import CLUSTERING, check_seeds, cluster
from chorus.assist.embedders import DEFAULT, load_embedder
from chorus.assist.embeddings import apart_from_group, embed
from chorus.assist.suggest import MIN_EXAMPLES, Training, code_scores, learned_from
from chorus.coding.stances import is_stance
from chorus.errors import ChorusError
from chorus.study.lookup import code_path
from chorus.study.models import Code, Coding, Transcript
from chorus.study.store import Study

UNITS = ("transcript", "coding")
#: The share of transcripts (or codings) hidden per fold by default: four folds, each hidden once.
HIDE = 0.25
CODE_COLUMNS = ["code", "examples", "held_out", "suggested", "correct", "precision", "recall", "f1", "threshold"]
THEME_COLUMNS = ["code", "segments", "candidate", "candidate_size", "share", "purity", "recovered", "found"]


@dataclass
class Evaluation:
    """One embedder's figures on one study: per code, for suggestions and for candidates, and the time to embed."""

    embedder: str
    segments: int
    seconds_first: float  # embedding every segment with nothing cached
    seconds_cached: float  # reading them back from the study's cache
    codes: pd.DataFrame  # CODE_COLUMNS
    themes: pd.DataFrame  # THEME_COLUMNS: the first clustering's candidates; ``found``, the share of clusterings recovering each code
    recovered: tuple[int, ...] = ()  # codes recovered by each clustering, the first seed's first

    def summary(self) -> dict[str, object]:
        """Overall figures: suggestions pooled over codes (micro-averaged); codes recovered by the first clustering, on average, and by every one."""
        total = self.codes[["suggested", "correct", "held_out"]].sum()
        precision = total.correct / total.suggested if total.suggested else float("nan")
        recall = total.correct / total.held_out if total.held_out else float("nan")
        f1 = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
        return {
            "embedder": self.embedder, "segments": self.segments, "embed_first_s": round(self.seconds_first, 2),
            "embed_cached_s": round(self.seconds_cached, 2), "precision": round(precision, 3), "recall": round(recall, 3),
            "f1": round(f1, 3), "macro_f1": round(float(self.codes["f1"].fillna(0).mean()), 3) if len(self.codes) else float("nan"),
            "themes_recovered": int(self.themes["recovered"].sum()), "themes": len(self.themes),
            "clusterings": len(self.recovered), "themes_mean": round(float(np.mean(self.recovered)), 2) if self.recovered else float("nan"),
            "all_themes": sum(found == len(self.themes) for found in self.recovered) if self.recovered else float("nan"),
        }


def evaluate(
    study: Study, embedder: str = DEFAULT, hide: float = HIDE, unit: str = "transcript", threshold: float | None = None,
    seed: int = 0, min_examples: int = MIN_EXAMPLES, clustering: str = CLUSTERING, clusters: int | None = None, clusterings: int = 1,
    progress: Callable[[str, float], None] | None = None,
) -> Evaluation:
    """Score suggestions and candidate codes by ``embedder`` against the study's own codings.

    ``hide`` is the share held out per fold (so ``1 / hide`` folds, each
    transcript or coding hidden once); ``threshold`` overrides the per-code
    calibration; ``clustering`` and ``clusters`` are as for candidate codes;
    ``clusterings`` how many times to cluster, with seeds ``seed``, ``seed + 1``, ...;
    ``progress(stage, fraction done)`` follows the work (a minute or more on a real study).
    """
    evaluable(study, unit, hide)
    _check_clusterings(clusterings)  # before minutes of suggesting, not after
    check_seeds(seed, clusterings)
    said = progress or (lambda stage, fraction: None)
    said(f"reading every segment with {embedder}", 0.0)
    truth = _truth(study, embedder)
    texts = truth.segments["text"].tolist()
    start = time.perf_counter()
    load_embedder(embedder).encode(texts)
    first = time.perf_counter() - start
    start = time.perf_counter()
    embed(study, texts, embedder=embedder)  # every vector now in the study's cache: this is the read back
    cached = time.perf_counter() - start
    names, splits = _folds(study, unit, hide, seed)
    counts: dict[int, np.ndarray] = {}  # code -> examples, held out, suggested, correct (summed over folds)
    thresholds: dict[int, list[float]] = {}
    for fold, (hidden, unjudged) in enumerate(splits):
        said(f"suggesting on hidden {unit}s, fold {fold + 1} of {len(splits)}", 0.1 + 0.8 * fold / len(splits))
        visible = learned_from(study, embedder, hidden=hidden, unjudged=unjudged)
        for code_id, positive, held_out, scope in _scored(truth, visible, names, unjudged, min_examples):
            scores, cut = code_scores(visible, code_id, threshold)
            _count(counts, code_id, positive, held_out, (scores >= cut) & ~positive & scope)
            thresholds.setdefault(code_id, []).append(cut)
    rows = _code_rows(counts, names, len(splits), {c: float(np.mean(cuts)) for c, cuts in thresholds.items()})
    said("clustering: codes found as candidates" + (f", {clusterings} times" if clusterings > 1 else ""), 0.9)
    apart = apart_from_group(truth.vectors, truth.segments["transcript"].tolist())  # as candidate codes cluster them
    themes, recovered = recovery(apart, truth.labels, names, clustering, clusters, seed, min_examples, clusterings)
    return Evaluation(embedder, len(texts), first, cached, rows, themes, recovered)


def evaluate_llm(
    study: Study, endpoint: llm.Endpoint, confirm: llm.Confirm, shots: int = 0, hide: float = HIDE, unit: str = "transcript",
    seed: int = 0, min_examples: int = MIN_EXAMPLES, progress: Callable[[int, int], None] | None = None,
) -> Evaluation | None:
    """Score a language model's coding the way :func:`evaluate` scores an embedder's suggestions; None if ``confirm`` declines.

    The same folds hide the same codings; for each hidden passage the model is
    given the codebook (definitions, rules and the codebook's own examples) and,
    with ``shots``, that many passages per code from the codings it may see (few-shot),
    and names the codes that apply. Codes are scored only where the embedders are
    (enough visible examples, stances aside), so the figures sit side by side.
    Nothing is sent until ``confirm`` agrees to :func:`chorus.assist.llm.disclosure`;
    ``progress(done, total)`` follows the passages asked. The model has no candidates:
    its ``themes`` table is empty.
    """
    evaluable(study, unit, hide)
    if shots < 0:
        raise ChorusError(f"give 0 examples per code (zero-shot) or more (few-shot), not {shots}")
    check_seeds(seed)
    truth = _truth(study, None)
    names, splits = _folds(study, unit, hide, seed)
    texts = truth.segments["text"].tolist()
    if not confirm(llm.disclosure(endpoint, texts)):
        return None
    codebook = {entry.path: entry for entry in llm.codebook_entries(study)}
    rng = np.random.default_rng(seed)
    plans = []  # per fold: the visible codings, the codes scored and the codebook the model is told
    for hidden, unjudged in splits:
        visible = learned_from(study, None, hidden=hidden, unjudged=unjudged)
        scored = _scored(truth, visible, names, unjudged, min_examples)
        told = tuple(
            replace(codebook[names[code_id]], examples=codebook[names[code_id]].examples + tuple(
                texts[i] for i in sorted(rng.choice(np.flatnonzero(positive), size=min(shots, int(positive.sum())), replace=False))
            ))
            for code_id, positive, _, _ in scored
        )
        plans.append((scored, told))
    asked = {(told, i) for scored, told in plans if scored for i in np.flatnonzero(scored[0][3])}
    answers: dict[tuple[tuple[llm.CodebookEntry, ...], int], set[str]] = {}
    start = time.perf_counter()
    for told, i in sorted(asked, key=lambda key: key[1]):
        answers[(told, i)] = llm.code_passage(endpoint, told, texts[i])
        if progress:
            progress(len(answers), len(asked))
    seconds = time.perf_counter() - start
    counts: dict[int, np.ndarray] = {}
    for scored, told in plans:
        for code_id, positive, held_out, scope in scored:
            said = np.array([bool(scope[i]) and names[code_id] in answers[(told, i)] for i in range(len(texts))])
            _count(counts, code_id, positive, held_out, said & ~positive)
    label = f"{endpoint.model}, {shots}-shot" if shots else f"{endpoint.model}, zero-shot"
    return Evaluation(label, len(texts), seconds, float("nan"), _code_rows(counts, names, len(splits)), pd.DataFrame(columns=THEME_COLUMNS))


def evaluable(study: Study, unit: str = "transcript", hide: float = HIDE) -> None:
    """Refuse what :func:`evaluate` could not score, before a model reads a word: an unknown ``unit``, a ``hide`` outside (0, 1),
    a study without codings, or hiding by transcript with fewer than two.

    A model takes a minute or more to read a real study's segments; a browser's
    evaluation is refused here, before it is queued.
    """
    if unit not in UNITS:
        raise ChorusError(f"hide by {' or '.join(UNITS)}, not {unit!r}")
    if not 0 < hide < 1:
        raise ChorusError(f"hide a share between 0 and 1 of the {unit}s, not {hide}")
    with study.reading() as session:
        codings = session.scalar(select(func.count()).select_from(Coding))
        transcripts = session.scalar(select(func.count()).select_from(Transcript))
    if not codings:
        raise ChorusError("the study has no codings to evaluate against: code some transcripts first")
    if unit == "transcript" and transcripts < 2:
        raise ChorusError("hiding by transcript needs at least two transcripts; hide by coding instead")


def _truth(study: Study, embedder: str | None) -> Training:
    """Every segment, and the codes each carries: what the folds are scored against."""
    truth = learned_from(study, embedder)
    if not truth.labels:
        raise ChorusError("no coding covers a participant's words (facilitators' turns are left out): nothing to evaluate against")
    return truth


def _check_clusterings(clusterings: int) -> None:
    if clusterings < 1:
        raise ChorusError(f"cluster at least once ({{clusterings}} 1 or more), not {clusterings} times", arguments={"clusterings": None})


def _folds(study: Study, unit: str, hide: float, seed: int) -> tuple[dict[int, str], list[tuple[frozenset[int], frozenset[str]]]]:
    """The codes' paths, and per fold the codings hidden and the transcripts whose codings are all hidden (seeded)."""
    with study.reading() as session:
        names = {c.id: code_path(c) for c in session.scalars(select(Code))}
        transcripts = sorted(session.scalars(select(Transcript.name)))
        codings = session.execute(select(Coding.id, Coding.code_id)).all()
    folds = max(2, round(1 / hide))
    rng = np.random.default_rng(seed)
    if unit == "transcript":
        order = rng.permutation(transcripts).tolist()
        return names, [(frozenset(), frozenset(order[f::folds])) for f in range(min(folds, len(order)))]
    by_code: dict[int, list[int]] = {}
    for coding_id, code_id in codings:
        by_code.setdefault(code_id, []).append(coding_id)
    shuffled = {c: rng.permutation(ids).tolist() for c, ids in by_code.items()}
    return names, [(frozenset(i for ids in shuffled.values() for i in ids[f::folds]), frozenset()) for f in range(folds)]


def _scored(
    truth: Training, visible: Training, names: dict[int, str], unjudged: frozenset[str], min_examples: int,
) -> list[tuple[int, np.ndarray, np.ndarray, np.ndarray]]:
    """The codes a fold scores: (code, segments visibly coded with it, segments hidden from it, segments in scope).

    Stances (how a theme was held, proposed from turn openings) are not scored as
    themes; a code with fewer than ``min_examples`` visible segments cannot be learned.
    """
    scope = truth.segments["transcript"].isin(list(unjudged)).to_numpy() if unjudged else np.ones(len(truth.segments), dtype=bool)
    scored = []
    for code_id, everywhere in truth.labels.items():
        positive = visible.labels.get(code_id)
        if is_stance(names[code_id]) or positive is None or positive.sum() < min_examples:
            continue
        scored.append((code_id, positive, everywhere & ~positive & scope, scope))
    return scored


def _count(counts: dict[int, np.ndarray], code_id: int, positive: np.ndarray, held_out: np.ndarray, predicted: np.ndarray) -> None:
    counts.setdefault(code_id, np.zeros(4, dtype=int))
    counts[code_id] += [int(positive.sum()), int(held_out.sum()), int(predicted.sum()), int((predicted & held_out).sum())]


def _code_rows(counts: dict[int, np.ndarray], names: dict[int, str], folds: int, thresholds: dict[int, float] | None = None) -> pd.DataFrame:
    """Per code: examples per fold, held out, suggested, correct, precision, recall, F1 (and the mean threshold)."""
    rows = []
    for code_id, (examples, held_out, suggested, correct) in sorted(counts.items(), key=lambda item: names[item[0]]):
        precision = correct / suggested if suggested else float("nan")
        recall = correct / held_out if held_out else float("nan")
        f1 = 2 * precision * recall / (precision + recall) if suggested and held_out and correct else 0.0
        rows.append({"code": names[code_id], "examples": examples // folds, "held_out": held_out, "suggested": suggested,
                     "correct": correct, "precision": precision, "recall": recall, "f1": f1,
                     "threshold": (thresholds or {}).get(code_id, float("nan"))})
    return pd.DataFrame(rows, columns=CODE_COLUMNS)


def recovery(
    vectors: np.ndarray, labels: dict[int, np.ndarray], names: dict[int, str], clustering: str = CLUSTERING,
    clusters: int | None = None, seed: int = 0, min_examples: int = MIN_EXAMPLES, clusterings: int = 1,
) -> tuple[pd.DataFrame, tuple[int, ...]]:
    """For each code with ``min_examples`` segments: the candidate holding most of them, and whether the code is its majority.

    The table is the first clustering's (``seed``); with ``clusterings`` above one
    the segments are clustered again with the seeds that follow, ``found`` is the
    share of clusterings that recovered the code, and the tuple says how many codes
    each clustering recovered.

    >>> themes, recovered = recovery(vectors, labels, names, clusterings=10)   # doctest: +SKIP
    """
    _check_clusterings(clusterings)
    scored = {c: covered for c, covered in labels.items() if covered.sum() >= min_examples and not is_stance(names[c])}
    draws = [_best_candidates(cluster(vectors, clusters, seed + i, clustering), scored) for i in range(clusterings)]
    rows = []
    for code_id, covered in sorted(scored.items(), key=lambda item: names[item[0]]):
        first = draws[0][code_id]
        rows.append({"code": names[code_id], "segments": int(covered.sum()), "candidate": first.candidate, "candidate_size": first.size,
                     "share": first.share, "purity": first.purity, "recovered": first.recovered,
                     "found": float(np.mean([draw[code_id].recovered for draw in draws]))})
    return pd.DataFrame(rows, columns=THEME_COLUMNS), tuple(sum(best.recovered for best in draw.values()) for draw in draws)


class _Best(NamedTuple):
    """The candidate holding most of a code's segments: its size, the code's share in it, and the code's purity there."""

    candidate: int | None
    size: int
    share: float
    purity: float

    @property
    def recovered(self) -> bool:
        """The code is the candidate's majority: more than half its segments."""
        return self.purity > 0.5


def _best_candidates(assigned: np.ndarray, codes: dict[int, np.ndarray]) -> dict[int, _Best]:
    """Per code, the candidate of ``assigned`` holding most of its segments."""
    found = {}
    for code_id, covered in codes.items():
        held = [c for c in set(assigned[covered].tolist()) if c != -1]
        best = max(held, key=lambda c: (int(np.sum(covered & (assigned == c))), -c)) if held else None
        members = assigned == best if best is not None else np.zeros_like(covered)
        both = int(np.sum(covered & members))
        found[code_id] = _Best(best, int(members.sum()), both / int(covered.sum()), both / int(members.sum()) if members.sum() else 0.0)
    return found
