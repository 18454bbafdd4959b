"""Benchmark: AI-assisted coding. Embedding and clustering at 100,000 segments; suggestions and candidate codes on the demo.

1. Speed and memory: 100,000 segments (sentences of the demo transcripts, recombined)
   embedded with the packaged GloVe static model and clustered (k-means, 50
   clusters), against a baseline measured in the same run: TF-IDF with a
   100-dimension truncated SVD (LSA), the usual torch-free alternative.
   Targets (issue 5): at least 500 segments/s embedding; clustering under 60 s.
2. Suggestions: precision and recall per code on held-out codings of the demo
   (30% of each code's codings hidden, default threshold).
3. Candidate codes: on the demo with no codings, which of the seven seed themes
   has a matching candidate, judged by the segments (quotes) it holds: the
   candidate with most of its segments coded with the theme in the coded demo.

    make bench            # or: python benchmarks/bench_assist.py [--segments 100000]
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import chorus  # noqa: E402
from chorus.assist import candidates, embeddings, suggest  # noqa: E402
from tests.helpers import code_demo, load_demo  # noqa: E402

SEED_THEMES = [
    "Early integration", "Normalizing palliative care", "Collaboration", "Communication",
    "Funding", "Medical opposition", "Unclear interdisciplinary roles",
]


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def synthetic_segments(study: chorus.Study, count: int, seed: int = 7) -> list[str]:
    from chorus.coding.autocode import sentence_spans

    table = embeddings.segment_table(study)
    sentences = [row.text[a:b] for row in table.itertuples() for a, b in sentence_spans(row.text, 0, len(row.text))]
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(sentences), size=(count, 3))
    return [" ".join(sentences[i] for i in row) for row in picks]


def speed(study: chorus.Study, count: int) -> None:
    from sklearn.cluster import MiniBatchKMeans
    from sklearn.decomposition import TruncatedSVD
    from sklearn.feature_extraction.text import TfidfVectorizer

    texts = synthetic_segments(study, count)
    model = embeddings.load_model()
    start = time.perf_counter()
    vectors = model.encode(texts)
    ours = time.perf_counter() - start
    start = time.perf_counter()
    labels, _ = candidates.cluster(vectors, k=50, seed=0)
    clustering = time.perf_counter() - start
    ours_peak = peak_mib()
    start = time.perf_counter()
    lsa = TruncatedSVD(100, random_state=0).fit_transform(TfidfVectorizer(min_df=2).fit_transform(texts))
    baseline = time.perf_counter() - start
    start = time.perf_counter()
    MiniBatchKMeans(50, random_state=0, n_init=3, batch_size=4096).fit(lsa)
    baseline_clustering = time.perf_counter() - start
    print(f"{count:,} segments: embedding {ours:.1f} s ({count / ours:,.0f} segments/s) [target >= 500/s: {'met' if count / ours >= 500 else 'NOT met'}]")
    print(f"  clustering into {len(set(labels.tolist()))} candidates {clustering:.1f} s [target < 60 s: {'met' if clustering < 60 else 'NOT met'}]")
    print(f"  baseline TF-IDF + SVD(100): embedding {baseline:.1f} s ({count / baseline:,.0f}/s), clustering {baseline_clustering:.1f} s;"
          f" Chorus x{baseline / ours:.1f} faster embedding, x{baseline_clustering / max(clustering, 1e-9):.1f} clustering")
    print(f"  peak memory: {ours_peak:.0f} MiB after embedding and clustering (the two demo studies and 100,000 texts included),"
          f" {peak_mib():.0f} MiB after the baseline")


def suggestions(coded: chorus.Study) -> None:
    scores = suggest.evaluate(coded, hide=0.3, seed=0)
    print(f"\nSuggestions on held-out demo codings (30% hidden, threshold {suggest.THRESHOLD}):")
    print(scores.round(2).to_string(index=False))
    total = scores[["suggested", "correct", "held_out"]].sum()
    print(f"  overall: precision {total.correct / max(total.suggested, 1):.2f}, recall {total.correct / max(total.held_out, 1):.2f}")


def themes(bare: chorus.Study, coded: chorus.Study) -> None:
    found = candidates.candidate_codes(bare, include_coded=True, seed=0)
    truth = {}
    for row in chorus.analysis.segments(coded).itertuples():
        truth.setdefault(row.code.split("/")[-1], set()).add((row.transcript, row.turn))
    table = embeddings.segment_table(bare)
    where = {row.segment: (row.transcript, row.turn) for row in table.itertuples()}
    print(f"\nCandidate codes on the uncoded demo ({len(found)} candidates) against the seed themes:")
    majority = plurality = 0
    for theme in SEED_THEMES:
        best = None
        for row in found.itertuples():
            members = [where[s] for s in row.segments.split()]
            shares = {t: sum(m in spans for m in members) / len(members) for t, spans in truth.items()}
            if best is None or shares.get(theme, 0) > best[0]:
                best = (shares.get(theme, 0), row.candidate, row.label, len(members), max(shares, key=shares.get) == theme)
        majority += best[0] >= 0.5
        plurality += best[4]
        verdict = "matched" if best[0] >= 0.5 else "leading" if best[4] else "no match"
        print(f"  {theme:<32} {verdict:<9} candidate {best[1]} ({best[2]}; {best[3]} segments, {best[0]:.0%} of them coded with it)")
    print(f"  {majority} of {len(SEED_THEMES)} seed themes have a candidate whose segments are mostly that theme ('matched');"
          f" {plurality} have one where it is the most frequent code ('matched' or 'leading')")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--segments", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        bare = load_demo(chorus.init(Path(tmp) / "bare"))
        coded = code_demo(chorus.init(Path(tmp) / "coded"))
        speed(bare, args.segments)
        suggestions(coded)
        themes(bare, coded)
        bare.close()
        coded.close()


if __name__ == "__main__":
    main()
