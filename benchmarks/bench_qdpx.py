"""Benchmark: REFI-QDA export and import of the synthetic study at 100,000 and 1,000,000 codings.

Chorus streams both ways (``project.qde`` written element by element, read one
source at a time), so its peak memory should stay flat as the corpus grows. The
baseline, measured in the same run, is the whole-document way: the project read
into one lxml tree (import) or built as one tree and serialised (export), without
any store work. Each side runs in its own process so its peak memory (max RSS)
is its own (an import of a big project also parses it in a second process, whose
peak is printed beside). Targets (issue 3): under 30 s each way at 1M codings on the 2-core
development machine; memory not growing with corpus size.

    make bench            # or: python benchmarks/bench_qdpx.py [--sizes 100000 1000000]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from bench_matrix import build  # noqa: E402


def chorus_export(folder: Path, out: Path) -> dict:
    import chorus
    from chorus.interop import export_qdpx

    study = chorus.open(folder)
    start = time.perf_counter()
    summary = export_qdpx(study, out)
    return {"seconds": time.perf_counter() - start, "codings": summary.codings}


def chorus_import(qdpx: Path, folder: Path) -> dict:
    import chorus
    from chorus.interop import import_qdpx

    study = chorus.init(folder)
    start = time.perf_counter()
    report = import_qdpx(study, qdpx)
    return {"seconds": time.perf_counter() - start, "codings": report.codings}


def tree_import(qdpx: Path, _: Path) -> dict:
    """Baseline: the whole project.qde parsed into one tree, codings counted."""
    from lxml import etree

    start = time.perf_counter()
    with zipfile.ZipFile(qdpx) as archive, archive.open("project.qde") as stream:
        root = etree.parse(stream).getroot()
    codings = sum(1 for _ in root.iter("{urn:QDA-XML:project:1.0}Coding"))
    return {"seconds": time.perf_counter() - start, "codings": codings}


def tree_export(qdpx: Path, out: Path) -> dict:
    """Baseline: the same project built as one tree in memory, then written."""
    from lxml import etree

    with zipfile.ZipFile(qdpx) as archive, archive.open("project.qde") as stream:
        root = etree.parse(stream).getroot()  # not timed: stands in for rows read from the store
    start = time.perf_counter()
    rebuilt = etree.fromstring(etree.tostring(root))
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        archive.writestr("project.qde", etree.tostring(rebuilt, xml_declaration=True, encoding="utf-8"))
    codings = sum(1 for _ in rebuilt.iter("{urn:QDA-XML:project:1.0}Coding"))
    return {"seconds": time.perf_counter() - start, "codings": codings}


ROLES = {"chorus-export": chorus_export, "chorus-import": chorus_import, "tree-import": tree_import, "tree-export": tree_export}


def child(role: str, a: Path, b: Path) -> dict:
    out = subprocess.run([sys.executable, __file__, "--role", role, str(a), str(b)], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--role", choices=sorted(ROLES))
    parser.add_argument("paths", nargs="*", type=Path)
    args = parser.parse_args()
    if args.role:
        result = ROLES[args.role](*args.paths)
        result["peak_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        result["helper_mib"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # a big import's parsing process
        print(json.dumps(result))
        return
    peaks = {}
    for size in args.sizes:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            build(root / "synthetic", size // 1000, size)
            qdpx = root / "study.qdpx"
            export = child("chorus-export", root / "synthetic", qdpx)
            baseline_export = child("tree-export", qdpx, root / "tree.qdpx")
            imported = child("chorus-import", qdpx, root / "imported")
            baseline_import = child("tree-import", qdpx, root)
        assert export["codings"] == imported["codings"] == baseline_import["codings"] == size, "a side lost codings"
        peaks[size] = (export["peak_mib"], imported["peak_mib"])
        for way, ours, theirs in (("export", export, baseline_export), ("import", imported, baseline_import)):
            print(
                f"{size:>9,} codings {way}: chorus {ours['seconds']:6.1f} s, peak {ours['peak_mib']:5.0f} MiB"
                + (f" (+{ours['helper_mib']:.0f} MiB parsing process)" if ours["helper_mib"] > 1 else "") + " | "
                f"whole-tree baseline {theirs['seconds']:6.1f} s, peak {theirs['peak_mib']:5.0f} MiB | "
                f"time x{theirs['seconds'] / ours['seconds']:.2f}, memory x{theirs['peak_mib'] / ours['peak_mib']:.1f} less"
                + (f"  [target < 30 s: {'met' if ours['seconds'] < 30 else 'NOT met'}]" if size >= 1_000_000 else "")
            )
    if len(peaks) > 1:
        small, large = min(peaks), max(peaks)
        for n, way in enumerate(("export", "import")):
            growth = peaks[large][n] / peaks[small][n]
            print(f"peak memory of chorus {way}: {peaks[small][n]:.0f} MiB at {small:,}, {peaks[large][n]:.0f} MiB at {large:,} (x{growth:.2f} for x{large / small:.0f} codings)")


if __name__ == "__main__":
    main()
