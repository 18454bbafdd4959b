"""Benchmark: what ``chorus log --verify`` costs, the chain alone and with every row checked against the trail.

The reference-size study (benchmarks/reference_study.py: 24 groups, 21,600 turns,
about 20,000 codings by three coders, written through Chorus's importers and
autocoder), and, with ``--codings N``, a study of N codings imported from a
REFI-QDA project (the synthetic study of bench_matrix, exported and imported back,
so its turns and codings are bulk inserts whose entries hold every row).

    python benchmarks/bench_audit.py [--codings 1000000]
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from bench_matrix import build as build_synthetic  # noqa: E402
from reference_study import build as build_reference  # noqa: E402


def measure(study, label: str) -> None:
    """Time verify without and with the rows, and say what each found."""
    from chorus.study import audit

    start = time.perf_counter()
    chain = audit.verify(study)
    middle = time.perf_counter()
    rows = audit.verify(study, rows=True)
    end = time.perf_counter()
    assert chain.intact and rows.intact, (chain.breaks + rows.breaks)[:3]
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{label}: {chain.entries:,} entries, chain alone {middle - start:5.1f} s; "
          f"with {rows.rows:,} rows checked {end - middle:5.1f} s (peak memory of the process so far {peak:,.0f} MiB)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--codings", type=int, default=0, help="also a study of this many codings imported from REFI-QDA")
    args = parser.parse_args()
    import chorus
    from chorus.interop import export_qdpx, import_qdpx

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        measure(build_reference(root / "reference"), "reference-size study")
        if args.codings:
            build_synthetic(root / "synthetic", max(args.codings // 1000, 1), args.codings)
            export_qdpx(chorus.open(root / "synthetic"), root / "synthetic.qdpx")
            study = chorus.init(root / "imported")
            start = time.perf_counter()
            report = import_qdpx(study, root / "synthetic.qdpx")
            print(f"{report.codings:,} codings imported in {time.perf_counter() - start:.1f} s")
            measure(study, f"{report.codings:,} codings imported")


if __name__ == "__main__":
    main()
