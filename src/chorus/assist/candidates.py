"""Candidate codes from the data: clusters of similar segments, each labelled by key phrases from its passages.

Inductive coding starts without a codebook. Chorus groups the (uncoded)
segments by meaning, names each group by key phrases its passages say
(:func:`key_phrases`: distinctive by class-based TF-IDF, ranked by the embedding
model, no stop word), and shows what a coder needs to judge
it: its size, the groups and disciplines it comes from, and its most central
quotes. Nothing enters the codebook until the coder accepts a candidate
(:func:`accept`), choosing its name and which of its segments to code.
The same seed gives the same candidates.

>>> candidate_codes(study).head()                             # doctest: +SKIP
"""

from __future__ import annotations

import bisect
import re
from collections import Counter
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from chorus.assist.embedders import DEFAULT
from chorus.assist.embeddings import apart_from_group, embed, segment_table, segment_vectors
from chorus.coding.codings import TurnIndex, add_coding
from chorus.errors import ChorusError
from chorus.study.codebook import add_code, sibling
from chorus.study.kept import kept
from chorus.study.lookup import code_path, find_code
from chorus.study.lookup import coder as get_coder
from chorus.study.models import CandidateDismissal, Code, Coder, Coding, Transcript
from chorus.study.store import Study

COLUMNS = ["candidate", "label", "size", "groups", "disciplines", "quotes", "segments"]


def uncoded(study: Study, table: pd.DataFrame) -> np.ndarray:
    """Which of the segments no coding overlaps."""
    with study.reading() as session:
        spans = session.execute(select(Transcript.name, Coding.start, Coding.end).join(Transcript, Transcript.id == Coding.transcript_id)
                                .order_by(Transcript.name, Coding.start, Coding.end)).all()
    coded: dict[str, list[tuple[int, int]]] = {}
    for name, start, end in spans:
        merged = coded.setdefault(name, [])
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    # each transcript's coded text as disjoint sorted spans: a segment overlaps one if the last starting before its end ends after its start
    starts = {name: [a for a, _ in merged] for name, merged in coded.items()}
    keep = []
    for transcript, a, b in zip(table["transcript"].tolist(), table["start"].tolist(), table["end"].tolist()):
        merged = coded.get(transcript, [])
        last = bisect.bisect_left(starts.get(transcript, []), b) - 1
        keep.append(last < 0 or merged[last][1] <= a)
    return np.array(keep, dtype=bool)


#: How segments are grouped into candidates: Ward's agglomerative clustering (every segment in one; k-means above
#: :data:`LARGE` segments), k-means (every segment in one) or HDBSCAN (dense groups; the rest left out).
CLUSTERINGS = ("ward", "kmeans", "hdbscan")
#: The clustering candidates use unless asked for another. Issue 43, minilm, codes found on average over ten clusterings,
#: k-means / Ward: the ICU study written outside the project 6.2 / 7.0 of 10, the demo 9.9 / 10.0 of 10, the second study
#: 6.5 / 7.0 of 7 (average linkage on cosine: 4.0, 9.0, 5.0); Ward's groups refined by k-means: 8.0, 10.0, 7.0.
CLUSTERING = "ward"
SEGMENTS_PER_CANDIDATE = 6
#: Above this many segments k-means runs on 64 principal directions with 3 starts (4.5 s to 0.3 s on the reference study).
LARGE = 2000
#: The largest seed k-means takes (seeds run from 0).
MOST_SEED = 2**32 - 1


def check_seeds(first: int, count: int = 1) -> None:
    """Refuse, before any work, seeds k-means cannot take: ``count`` clusterings use ``first``, ``first + 1``, ..."""
    if first < 0 or first + count - 1 > MOST_SEED:
        raise ChorusError(f"seeds run from 0 to {MOST_SEED}, not {first}" + (f" to {first + count - 1}" if count > 1 else ""))


def cluster(vectors: np.ndarray, k: int | None = None, seed: int = 0, method: str = CLUSTERING) -> np.ndarray:
    """A cluster label for each of the unit vectors; label -1 is HDBSCAN's "in no cluster".

    Ward's clustering merges, from single segments up, the two groups whose
    merging adds least to the spread within groups, until ``k`` are left: one
    answer, whatever the seed, and more of a code's passages kept together than
    k-means's nearest centres do (:data:`CLUSTERING`). Its merges are greedy, so
    a segment merged early can end nearer another group's centre: k-means
    started from Ward's groups then moves each segment to its nearest one, which
    only lowers the spread Ward set out to keep low (issue 43, minilm: the ICU
    study 7 -> 8 of its 10 codes found, the demo 10 of 10 and the second study
    7 of 7 as before; over one candidate per 4, 5, 6, 7 and 8 segments the
    same 33, 50 and 33 found in all). Its cost grows with the
    square of the segments, so above :data:`LARGE` of them k-means does its work.
    k-means (and Ward) take ``k``, by default one candidate per six segments (5 to
    60): about the size of a code's first examples. Fewer, broader clusters
    mix stances on one topic (measured with ``chorus suggest evaluate``, minilm
    over ten seeds, segments read in conversation: one per six segments
    recovered on average 6.8 of the demo's 7 seed themes and 5.8 of the second
    study's, one per eight 6.8 and 5.4, one per ten 6.5 and 4.4, 2026-12-02;
    the rule of thumb sqrt(n / 2) found 2 of the demo's 10 codes, coded then
    by pattern alone). More, smaller candidates score higher by construction (a
    candidate of one segment is pure), so the number is the size of a code's
    first examples, not the best score. HDBSCAN finds its own number of
    clusters, of at least five segments, and leaves out segments that fit
    none; it found fewer codes on both labelled studies, so it is an option,
    not the default.
    """
    from sklearn.cluster import HDBSCAN, KMeans, MiniBatchKMeans

    if method not in CLUSTERINGS:
        raise ChorusError(f"cluster by {' or '.join(CLUSTERINGS)}, not {method!r}")
    check_seeds(seed)
    n = len(vectors)
    if n < 10:
        raise ChorusError(f"only {n} segments to cluster; candidate codes need more text")
    centred = vectors - vectors.mean(axis=0)  # the direction every segment shares says nothing
    norms = np.linalg.norm(centred, axis=1, keepdims=True)
    centred = np.divide(centred, norms, out=np.zeros_like(centred), where=norms > 0)
    if method == "hdbscan":
        return HDBSCAN(min_cluster_size=5, min_samples=3, copy=True).fit(centred).labels_
    k = k or int(min(60, max(5, round(n / SEGMENTS_PER_CANDIDATE))))
    if method == "ward" and n <= LARGE:
        from sklearn.cluster import AgglomerativeClustering

        merged = AgglomerativeClustering(k, linkage="ward").fit(centred).labels_
        centres = np.vstack([centred[merged == c].mean(axis=0) for c in range(k)])
        return KMeans(k, init=centres, n_init=1).fit(centred).labels_  # each segment to its nearest candidate
    if n > LARGE:  # a real study's thousands of segments: 64 principal directions and 3 starts keep a page to a second
        from sklearn.decomposition import PCA

        reduced = PCA(min(64, centred.shape[1]), random_state=seed).fit_transform(centred)
        centred = reduced / np.maximum(np.linalg.norm(reduced, axis=1, keepdims=True), 1e-12)
    model = (MiniBatchKMeans(k, random_state=seed, n_init=3, batch_size=4096) if n > 20_000
             else KMeans(k, random_state=seed, n_init=3 if n > LARGE else 10))
    return model.fit(centred).labels_


#: A word of a label (letters, perhaps hyphenated), or any other mark; a contraction ("i'm", "who's"), a number or a comma breaks a phrase.
LABEL_WORD = re.compile(r"[a-z]+(?:-[a-z]+)*(?:'[a-z]+)?|\S")
#: The longest key phrase, in words.
PHRASE_WORDS = 3
#: How many of a candidate's most distinctive phrases (class-based TF-IDF) the embedding model ranks.
SHORTLIST = 15


def stop_words() -> frozenset[str]:
    """Words no label may hold: scikit-learn's English stop words, and everyday talk a focus group says about everything."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return frozenset(ENGLISH_STOP_WORDS) | SPOKEN


#: Fillers and hedges of speech that carry no theme (all words of a turn's talk, never of its topic).
SPOKEN = frozenset({
    "yeah", "yes", "okay", "ok", "oh", "um", "uh", "like", "just", "really", "actually", "honestly", "basically", "lot", "lots",
    "thing", "things", "stuff", "kind", "sort", "bit", "guess", "mean", "know", "think", "thinks", "thought", "say", "said", "says",
    "got", "get", "gets", "getting", "going", "goes", "went", "come", "comes", "came", "make", "makes", "made", "want", "wants",
    "way", "time", "times", "day", "week", "people", "one", "ones", "did", "does", "doing", "done", "let", "right", "sure",
    "maybe", "pretty", "little", "good", "great", "bad", "tell", "told", "look", "looks", "need", "needs",
})


def _phrases(text: str, stop: frozenset[str]) -> list[str]:
    """The runs of one to :data:`PHRASE_WORDS` key words in ``text``: no stop word, contraction, number or punctuation inside one."""
    found = []
    run: list[str] = []
    for word in [*LABEL_WORD.findall(text.lower()), ""]:
        if len(word) > 2 and word not in stop and "'" not in word:
            run.append(word)
            continue
        found.extend(" ".join(run[i:i + n]) for n in range(1, PHRASE_WORDS + 1) for i in range(len(run) - n + 1))
        run = []
    return found


def key_phrases(texts: Sequence[str], labels: np.ndarray, vectors: np.ndarray, encode: Callable[[list[str]], np.ndarray],
                top: int = 4) -> dict[int, list[str]]:
    """Each cluster's label: key phrases taken from its passages, ranked by the embedding model.

    A cluster's phrases are the runs of key words its passages say (no stop
    word, :func:`stop_words`), less any word every cluster says (it names the
    study, not a candidate); the :data:`SHORTLIST` most distinctive by class-based
    TF-IDF (as BERTopic does) are ranked by how near ``encode`` puts them to the
    members' mean meaning (as KeyBERT does), and a phrase sharing a word with
    one chosen before it is passed over, so the label says ``top`` different things.
    """
    stop = stop_words()
    classes = sorted(set(labels.tolist()) - {-1})
    said = {k: Counter(p for t, c in zip(texts, labels) if c == k for p in set(_phrases(t, stop))) for k in classes}
    everywhere = set.intersection(*[{w for p in phrases for w in p.split()} for phrases in said.values()]) if len(classes) > 1 else set()
    for k in classes:
        said[k] = Counter({p: n for p, n in said[k].items() if not everywhere & set(p.split())})
    clusters_saying = Counter(p for phrases in said.values() for p in phrases)
    shortlist = {}
    for k, phrases in said.items():
        scored = {p: n * np.log(1 + len(classes) / clusters_saying[p]) * (1 + 0.5 * p.count(" ")) for p, n in phrases.items()}
        shortlist[k] = sorted(scored, key=lambda p: (-scored[p], p))[:SHORTLIST]
    wanted = sorted({p for phrases in shortlist.values() for p in phrases})
    meaning = dict(zip(wanted, encode(wanted))) if wanted else {}
    chosen = {}
    for k in classes:
        centre = vectors[labels == k].mean(axis=0)
        ranked = sorted(shortlist[k], key=lambda p: (-float(meaning[p] @ centre), p))
        label: list[str] = []
        for phrase in ranked:
            if len(label) == top:
                break
            if not any(set(phrase.split()) & set(other.split()) for other in label):
                label.append(phrase)
        chosen[k] = label
    return chosen


def candidate_codes(
    study: Study, include_coded: bool = False, k: int | None = None, seed: int = 0, quotes: int = 3,
    embedder: str = DEFAULT, method: str = CLUSTERING,
) -> pd.DataFrame:
    """Candidate codes from the study's uncoded segments (or all, with ``include_coded``).

    ``embedder`` names the model that places segments by meaning
    (:data:`chorus.assist.embedders.EMBEDDERS`); ``method`` the clustering
    (:data:`CLUSTERINGS`).

    A candidate a coder dismissed (:func:`dismiss`) is left out, here and after
    any reclustering: a candidate is the same one while most of its members are.

    One row per candidate, largest first: ``candidate`` (its number), ``label``
    (key phrases from its passages), ``size``, ``groups`` and ``disciplines`` (with counts),
    ``quotes`` (the most central segments' text) and ``segments`` (the members'
    ids, ``transcript@start-end``, for :func:`accept`).

    The same study unchanged and the same arguments give the candidates computed
    last time in this process (:func:`chorus.study.kept.kept`), without clustering
    again: about a second at a real study's size.
    """
    frame = all_candidates(study, include_coded, k, seed, quotes, embedder, method)
    left = without_dismissed(study, frame)
    return frame if len(left) == len(frame) else left.assign(candidate=range(1, len(left) + 1)).reset_index(drop=True)


#: The share of a candidates run's progress bar that reading the passages takes (the first run embeds every one).
READING = 0.7


def all_candidates(
    study: Study, include_coded: bool = False, k: int | None = None, seed: int = 0, quotes: int = 3, embedder: str = DEFAULT,
    method: str = CLUSTERING, progress: Callable[[str, float], None] | None = None,
) -> pd.DataFrame:
    """:func:`candidate_codes` before the dismissed ones are left out: every cluster, numbered as made.

    ``progress(stage, fraction done)`` follows the work, as a background job reports it (:mod:`chorus.assist.jobs`).
    """
    check_seeds(seed)  # before a model reads every segment
    return kept(study, ("candidate codes", include_coded, k, seed, quotes, embedder, method),
                lambda: _clustered(study, include_coded, k, seed, quotes, embedder, method, progress or (lambda stage, fraction: None)))


def without_dismissed(study: Study, frame: pd.DataFrame) -> pd.DataFrame:
    """The candidates of ``frame`` that are not a dismissed one (:func:`dismiss`), keeping their numbers."""
    gone = [members for _, members in dismissed(study)]
    if not gone:
        return frame
    return frame[[not any(_same_candidate(set(segments.split()), members) for members in gone) for segments in frame.segments]]


def _clustered(
    study: Study, include_coded: bool, k: int | None, seed: int, quotes: int, embedder: str, method: str, said: Callable[[str, float], None],
) -> pd.DataFrame:
    """:func:`candidate_codes` computed."""
    said(f"reading every passage with {embedder}", 0.0)
    table = segment_table(study)
    read = segment_vectors(study, table, embedder, lambda done, total: said(  # read in the whole conversation, coded turns included
        f"reading every passage with {embedder}: {done} of {total}", READING * done / total))
    vectors = apart_from_group(read, table["transcript"].tolist())
    if not include_coded:
        keep = uncoded(study, table)
        table, vectors, read = table[keep].reset_index(drop=True), vectors[keep], read[keep]
    if table.empty:
        raise ChorusError("no uncoded segments left; cluster the coded ones too with {include_coded}", arguments={"include_coded": True})
    said(f"grouping {len(table)} passages by meaning", READING)
    labels = cluster(vectors, k, seed, method)
    said("naming each candidate by the key phrases its passages say", READING + (1 - READING) / 2)
    terms = key_phrases(table["text"].tolist(), labels, read, lambda phrases: embed(study, phrases, embedder=embedder))
    rows = []
    for k_ in sorted(set(labels.tolist()) - {-1}, key=lambda c: (-int(np.sum(labels == c)), c)):
        members = np.flatnonzero(labels == k_)
        mine = table.iloc[members]
        centre = vectors[members].mean(axis=0)  # the most central quotes: nearest the members' mean meaning
        central = members[np.argsort(-(vectors[members] @ centre))][:quotes]
        rows.append({
            "label": ", ".join(terms.get(k_, [])),
            "size": len(members),
            "groups": _counted(mine["group"]),
            "disciplines": _counted(mine["discipline"]),
            "quotes": " | ".join(f"{table.at[i, 'speaker']} ({table.at[i, 'discipline']}, {table.at[i, 'group']}): {table.at[i, 'text']}" for i in central),
            "segments": " ".join(mine["segment"]),
        })
    frame = pd.DataFrame(rows, columns=COLUMNS[1:])
    frame.insert(0, "candidate", range(1, len(frame) + 1))
    return frame


#: A candidate is the dismissed one while they share at least this share of their members (Jaccard): identity by members.
SAME_MEMBERS = 0.5


def dismiss(study: Study, segments: Sequence[str], label: str, coder: str, reason: str = "") -> int:
    """Dismiss the candidate of ``segments`` (ids from :func:`candidate_codes`): it stops being offered; returns the dismissal's id.

    The decision is stored with who, when, why and the members
    (:class:`chorus.study.models.CandidateDismissal`, in the audit trail like any
    change), and :func:`candidate_codes` leaves out every later candidate made
    mostly of the same segments, whatever number reclustering gives it.
    """
    members = sorted(set(segments))
    if not members:
        raise ChorusError("a dismissed candidate needs its segments: give the candidate's segment ids")
    for segment in members:
        if not re.fullmatch(r".+@\d+-\d+", segment):
            raise ChorusError(f"{segment!r} is not a segment id (transcript@start-end)")
    with study.transaction() as session:
        dismissal = CandidateDismissal(label=label[:400], reason=reason.strip() or "Not a code.", segments=" ".join(members),
                                       coder=get_coder(session, coder))
        session.add(dismissal)
        session.flush()
        return dismissal.id


def dismissed(study: Study) -> list[tuple[int, frozenset[str]]]:
    """The dismissed candidates: each dismissal's id and the members' segment ids."""
    with study.reading() as session:
        rows = session.execute(select(CandidateDismissal.id, CandidateDismissal.segments).order_by(CandidateDismissal.id)).all()
    return [(dismissal_id, frozenset(segments.split())) for dismissal_id, segments in rows]


def _same_candidate(members: set[str], dismissed_members: frozenset[str]) -> bool:
    """Whether a candidate is a dismissed one: most of their members shared (:data:`SAME_MEMBERS`)."""
    union = len(members | dismissed_members)
    return bool(union) and len(members & dismissed_members) / union >= SAME_MEMBERS


def _counted(values: pd.Series) -> str:
    counts = values.fillna("(none)").value_counts()
    return ", ".join(f"{v} {n}" for v, n in counts.items())


def accept(
    study: Study, segments: Sequence[str], name: str, coder: str, parent: str | None = None, definition: str | None = None,
    new: bool = False,
) -> int:
    """Make a candidate a code: create ``name`` (under ``parent``) and code the ticked ``segments``; returns how many.

    ``segments`` are ids from :func:`candidate_codes` (``transcript@start-end``);
    one that no longer fits its transcript stops everything. A code of that name
    already there is used (a merge), unless ``new`` asks for a new code: then the
    clash is refused.
    """
    if not segments:
        raise ChorusError("tick at least one segment to code with the new code")
    with study.transaction() as session:
        above = find_code(session, parent) if parent else None
        code = sibling(session, above, name)
        if code is not None and new:
            raise ChorusError(f"there is already a code {code_path(code)!r}; merge the candidate into it, or give another name")
        code = code or add_code(session, name, above, definition=definition)
        code_segments(session, code, get_coder(session, coder), segments)
        return len(segments)


def code_segments(session: Session, code: Code, coder: Coder, segments: Sequence[str]) -> None:
    """Code each of ``segments`` (``transcript@start-end``) with ``code`` as ``coder``, in the caller's transaction.

    A segment id that does not fit its transcript, or names none, stops everything (the transaction is not committed).
    """
    indexes: dict[str, tuple[Transcript, TurnIndex]] = {}
    for segment in segments:
        transcript_name, _, span = segment.rpartition("@")
        try:
            start, end = (int(x) for x in span.split("-"))
        except ValueError:
            raise ChorusError(f"{segment!r} is not a segment id (transcript@start-end)") from None
        if transcript_name not in indexes:
            transcript = session.scalar(select(Transcript).where(Transcript.name == transcript_name))
            if transcript is None:
                raise ChorusError(f"segment {segment!r}: no transcript called {transcript_name!r}")
            indexes[transcript_name] = (transcript, TurnIndex(transcript))
        transcript, index = indexes[transcript_name]
        add_coding(session, transcript, code, coder, start, end, index)
