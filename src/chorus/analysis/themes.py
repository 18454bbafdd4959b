"""Theme attribution: which disciplines raised each theme, by a rule the researcher sets, with evidence.

A discipline *raised* a theme when its participants' coded segments meet the
rule: by default, in at least 2 groups, or by at least 10% of that discipline's
participants. A theme is a code with codings (its subcodes' included), except a
top-level heading that only gathers other codes. Each theme comes with a test of
whether disciplines differ in raising it and with quotes from those who raised it.

>>> themes(study)["label"].tolist()                      # doctest: +SKIP
['Early integration of palliative care (APPs, physicians)', ...]
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import pandas as pd

from chorus.analysis import frames
from chorus.analysis.matrix import count_table
from chorus.analysis.segments import segments
from chorus.coding.stances import is_stance
from chorus.errors import ChorusError
from chorus.study.counting import Basis, counting
from chorus.study.kept import kept
from chorus.study.store import Study


@dataclass(frozen=True)
class Rule:
    """When a discipline counts as having raised a theme.

    ``min_groups``: groups of that discipline in which it came up; ``min_share``:
    fraction of the discipline's participants who said it; ``combine``: ``"or"``
    (either is enough, the default) or ``"and"`` (both needed).
    """

    min_groups: int = 2
    min_share: float = 0.10
    combine: str = "or"

    def __post_init__(self) -> None:
        if self.combine not in ("or", "and"):
            raise ChorusError(f"{{combine}} must be 'or' or 'and', not {self.combine!r}", arguments={"combine": None})
        if not 0 <= self.min_share <= 1:
            raise ChorusError(f"{{min_share}} is a fraction between 0 and 1, not {self.min_share}", arguments={"min_share": None})

    def holds(self, groups: int, share: float) -> bool:
        """Whether a discipline with these figures raised the theme."""
        by_groups, by_share = groups >= self.min_groups, share >= self.min_share
        return (by_groups or by_share) if self.combine == "or" else (by_groups and by_share)

    def __str__(self) -> str:
        groups = "group" if self.min_groups == 1 else "groups"
        return f"raised in at least {self.min_groups} {groups} {self.combine} by at least {self.min_share:.0%} of the discipline's participants"


def format_p(p_value: float | None) -> str:
    """A p-value as reported in papers: three decimals, or ``< 0.001``."""
    if p_value is None:
        return "not testable"
    return "< 0.001" if p_value < 0.001 else f"= {p_value:.3f}"


def plural(discipline: str) -> str:
    """A discipline's name for its members: ``physician`` -> ``physicians``, ``APP`` -> ``APPs``."""
    return discipline if discipline.endswith("s") else discipline + "s"


def difference_test(raised: pd.Series, sizes: pd.Series, seed: int = 0) -> tuple[float | None, str]:
    """P-value and test name for whether disciplines differ in the share who raised a theme.

    Two disciplines: Fisher's exact test. More: Pearson's chi-square, or, where an
    expected count is under 5, its Monte Carlo permutation version (10,000 draws).
    """
    sizes = sizes[sizes > 0]
    raised = raised.reindex(sizes.index).fillna(0).astype(int)
    return _tested(tuple(int(r) for r in raised), tuple(int(n) for n in sizes), seed)


@functools.lru_cache(maxsize=4096)
def _tested(raised: tuple[int, ...], sizes: tuple[int, ...], seed: int) -> tuple[float | None, str]:
    """:func:`difference_test` on plain counts; remembered, since the same table comes back on every view of the themes."""
    from scipy import stats  # here, not at the top: it is most of a second of every command's start

    table = np.array([raised, np.subtract(sizes, raised)]).T
    if len(sizes) < 2 or table[:, 0].sum() == 0 or table[:, 1].sum() == 0:
        return None, "not testable"
    if len(sizes) == 2:
        return float(stats.fisher_exact(table)[1]), "Fisher exact"
    chi2, p, _, expected = stats.chi2_contingency(table, correction=False)
    if (expected >= 5).all():
        return float(p), "chi-square"
    totals = np.array(sizes)
    expected_raised = totals * table[:, 0].sum() / totals.sum()
    expected_not = totals - expected_raised

    def statistic(observed: np.ndarray) -> np.ndarray:
        return ((observed - expected_raised) ** 2 / expected_raised).sum(-1) + (
            ((totals - observed) - expected_not) ** 2 / expected_not
        ).sum(-1)

    # Shuffling who raised it among all participants leaves each discipline a multivariate hypergeometric
    # count of them: drawn directly, 10,000 draws cost what a few permutations did.
    draws = 10_000
    shuffled = np.random.default_rng(seed).multivariate_hypergeometric(totals, int(table[:, 0].sum()), size=draws)
    p = (1 + (statistic(shuffled) >= statistic(table[:, 0]) - 1e-12).sum()) / (draws + 1)
    return float(p), "chi-square (Monte Carlo)"


def _best_per_speaker(evidence: pd.DataFrame) -> tuple[list[tuple], dict[str, dict[str, int]]]:
    """The segments in quoting order (``text, speaker, discipline, group, turn``), and each speaker's best place there per code.

    Quoting order: closest to 35 words first, then by transcript and place. A
    theme quotes each speaker at most once, with their first segment in that
    order among its code's and subcodes', so a speaker's best place per code
    (thousands of entries, not every segment) is all a theme needs.
    """
    fit = np.abs(np.fromiter((len(t.split()) for t in evidence["text"].tolist()), dtype=np.int64, count=len(evidence)) - 35)
    transcript = pd.factorize(evidence["transcript"], sort=True)[0]
    ordered = evidence.iloc[np.lexsort((evidence["start"].to_numpy(), transcript, fit))]
    best: dict[str, dict[str, int]] = {}
    for place, (code, speaker) in enumerate(zip(ordered["code"].tolist(), ordered["speaker"].tolist())):
        best.setdefault(code, {}).setdefault(speaker, place)
    return list(zip(*(ordered[c].tolist() for c in ("text", "speaker", "discipline", "group", "turn")))), best


def _quotes(records: list[tuple], raising: list[str], limit: int) -> list[dict[str, str]]:
    """Quotes from those who raised the theme: one per speaker, across disciplines, of quotable length.

    ``records`` come in quoting order (see :func:`_best_per_speaker`); each speaker's first there is theirs.
    """
    raised = set(raising)
    best: dict[str, tuple] = {}
    for record in [r for r in records if r[2] in raised] + [r for r in records if r[2] not in raised]:
        best.setdefault(record[1], record)
    pools: dict[str, list[tuple]] = {}
    for record in best.values():
        pools.setdefault(record[2], []).append(record)
    others = sorted(d for d in pools if isinstance(d, str) and d not in raised)
    picked: list[dict[str, str]] = []
    for circle in (raising, others):  # those who raised it first, in turn; then the rest
        circle_pools = [pools.get(d, []) for d in circle]
        for depth in range(max((len(p) for p in circle_pools), default=0)):
            for pool in circle_pools:
                if depth < len(pool) and len(picked) < limit:
                    text, speaker, discipline, group, turn = pool[depth]
                    picked.append({"text": _trim(text), "speaker": speaker, "discipline": discipline, "group": group, "turn": int(turn)})
    return picked


def _trim(text: str, most: int = 70) -> str:
    words = " ".join(text.split()).split(" ")
    return text.strip() if len(words) <= most else " ".join(words[:most]) + " …"


def themes(study: Study, rule: Rule | None = None, quotes: int = 3, basis: Basis | str | None = None) -> pd.DataFrame:
    """One row per theme: who raised it under ``rule``, figures per discipline, a test, quotes.

    Columns: ``code`` (path), ``theme`` (name), ``category`` (its top-level code),
    ``disciplines`` (those who raised it, most to least by share), ``label``
    (``"Funding (nurses, physicians)"``), ``segments``, ``participants``,
    ``groups``, ``p_value``, ``test``, ``per_discipline`` (groups, participants,
    segments, share and raised for every discipline) and ``quotes``. ``basis``: which
    coding counts (:mod:`chorus.study.counting`; by default the consensus where one is
    written, each passage once), quotes included. Kept per version of the study
    (:func:`chorus.study.kept.kept`): the Themes page revisited reads nothing again.
    """
    rule, basis = rule or Rule(), Basis.of(basis)
    return kept(study, ("themes", rule.min_groups, rule.min_share, rule.combine, quotes, basis), lambda: _themes(study, rule, quotes, basis))


def _themes(study: Study, rule: Rule, quotes: int, basis: Basis) -> pd.DataFrame:
    """:func:`themes` derived."""
    with study.reading() as session:
        code_table = frames.codes(session)
        people = frames.participants(session)
        group_table = frames.groups(session)
        counts = frames.attribution_counts(session, counting(session, basis))
    sizes = people["discipline"].fillna("(none)").astype(str).value_counts().sort_index() if not people.empty else pd.Series(dtype=int)
    own = set(counts["code_id"])
    rolled = frames.with_ancestors(counts, code_table)
    table = count_table(rolled, people, group_table, "discipline")
    totals = rolled.groupby("code_id").agg(
        segments=("segments", "sum"), participants=("participant_id", "nunique"), groups=("group_id", "nunique")
    )
    by_code: dict[int, dict[str, tuple[int, int, int]]] = {}  # code -> discipline -> (groups, participants, segments)
    for code_id, value, groups, said, spoken in zip(*(table[c].tolist() for c in ("code_id", "value", "groups", "participants", "segments"))):
        by_code.setdefault(code_id, {})[value] = (int(groups), int(said), int(spoken))
    evidence, best = _best_per_speaker(segments(study, basis=basis))
    rows = []
    for code in code_table.itertuples():
        if code.code_id not in totals.index:
            continue
        if code.depth == 0 and code.code_id not in own and code_table["parent_id"].eq(code.code_id).any():
            continue  # a heading such as "Benefits" that only gathers themes
        if is_stance(code.path):
            continue  # how a theme was held (micro-interlocutor analysis), not a theme
        figures = by_code.get(code.code_id, {})
        per = {}
        for discipline, size in sizes.items():
            groups, said, spoken = figures.get(discipline, (0, 0, 0))
            share = said / size if size else 0.0
            per[discipline] = {
                "groups": groups, "participants": said, "segments": spoken, "share": round(share, 4), "raised": rule.holds(groups, share),
            }
        raising = sorted((d for d in per if per[d]["raised"]), key=lambda d: (-per[d]["share"], d))
        p_value, test = difference_test(pd.Series({d: v["participants"] for d, v in per.items()}), sizes)
        label = f"{code.code} ({', '.join(plural(d) for d in raising)})" if raising else f"{code.code} (no discipline by the rule)"
        prefix = code.path + "/"
        places: dict[str, int] = {}  # each speaker's best place among the code's and its subcodes' segments
        for path, speakers in best.items():
            if path == code.path or path.startswith(prefix):
                for speaker, place in speakers.items():
                    places[speaker] = min(place, places.get(speaker, place))
        mine = [evidence[place] for place in sorted(places.values())]
        rows.append(
            {
                "code": code.path,
                "theme": code.code,
                "category": code.path.split("/")[0],
                "disciplines": raising,
                "label": label,
                "segments": int(totals.at[code.code_id, "segments"]),
                "participants": int(totals.at[code.code_id, "participants"]),
                "groups": int(totals.at[code.code_id, "groups"]),
                "p_value": p_value,
                "test": test,
                "per_discipline": per,
                "quotes": _quotes(mine, raising, quotes),
            }
        )
    columns = ["code", "theme", "category", "disciplines", "label", "segments", "participants", "groups", "p_value", "test", "per_discipline", "quotes"]
    return pd.DataFrame(rows, columns=columns)


#: The units a theme's disciplines can be counted by (see :func:`by_unit`).
UNITS = ("participants", "groups", "segments")


def by_unit(found: pd.DataFrame, rule: Rule | None = None, min_segments: int = 3) -> pd.DataFrame:
    """Which disciplines raised each theme when counting one unit alone, and whether the unit changes the finding.

    Counting participants (at least ``rule.min_share`` of the discipline's
    participants said it), groups (it came up in at least ``rule.min_groups`` of
    the discipline's groups) or segments (at least ``min_segments`` coded
    segments) can name different disciplines: one talkative nurse gives many
    segments but one participant (Carey and Asbury; Morgan). One row per theme of
    ``found`` (:func:`themes`): ``rule`` (the disciplines under the study's rule),
    one column per unit, and ``differs``.

    >>> by_unit(themes(study))[["theme", "participants", "segments", "differs"]]   # doctest: +SKIP
    """
    rule = rule or Rule()
    tests = {
        "participants": lambda f: f["share"] >= rule.min_share,
        "groups": lambda f: f["groups"] >= rule.min_groups,
        "segments": lambda f: f["segments"] >= min_segments,
    }
    rows = []
    for theme in found.itertuples():
        row: dict[str, object] = {"theme": theme.theme, "rule": ", ".join(sorted(theme.disciplines))}
        named = []
        for unit in UNITS:
            raised = sorted(d for d, figures in theme.per_discipline.items() if tests[unit](figures))
            row[unit] = ", ".join(raised)
            named.append(tuple(raised))
        row["differs"] = len(set(named)) > 1
        rows.append(row)
    return pd.DataFrame(rows, columns=["theme", "rule", *UNITS, "differs"])
