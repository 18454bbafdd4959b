"""Benchmark: every page of the web app at a real study's size, next to the same pages on the demo study.

The reference-size study (24 groups of 900 turns, about 20,000 codings by three
coders; ``benchmarks/reference_study.py``) and the demo study (8 groups of about
40 turns, coded as ``make demo`` codes them) are each served by ``chorus serve``
in a process of its own on loopback. One signed-in user loads each page 20 times
in turn; the app's own time per request comes back in its ``Server-Timing``
header. Printed per page: the first visit's server time (cold: caches filled; the
candidates and suggestions pages show what a background run kept, and cluster or
learn nothing in the request, issue 43), server p50 and
p95 of the visits after it, the size of the page, and the ratio to the demo's
p95 (the baseline of this run). Target (issue 16): every page under
300 ms p95 server-side at the reference size. The HTML report, a document of the
whole study rather than a page, is timed three times beside them. Then one coding written and removed
through the API, 50 times, on a 900-turn and on a 40-turn transcript: a write
should not cost more on a longer transcript.

    make bench            # or: python benchmarks/bench_pages.py [--repeat 20]
    python benchmarks/reference_study.py build/ref          # build the big study once, then
    python benchmarks/bench_pages.py --reference build/ref --pages /themes /agreement
                                                            # time some pages on a copy of it
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import chorus  # noqa: E402
from chorus.web import users  # noqa: E402
from reference_study import build, coded_by_three, guided  # noqa: E402
from served import served  # noqa: E402
from tests.helpers import code_demo  # noqa: E402

PASSWORD = "benchmark password"
#: Every page a signed-in owner can open (the report and downloads are documents, timed apart); AGREEMENT: between the study's first two coders.
AGREEMENT = "/agreement?coders=ann&coders=ben"
PAGES = ["/", "/transcripts/FG01", "/api/transcripts/FG01", "/segments", "/segments?code=Funding", "/themes",
         "/matrix", "/matrix?count=segments", "/codes", "/roster", AGREEMENT, "/audit", "/codes/versions", "/saturation",
         "/cooccurrence", "/talk", "/talk?group=FG01", "/rounds", "/people", "/suggestions", "/autocode", "/candidates",
         "/guide", "/guide/questions/Q3", "/guide/transcripts/FG01", "/roster/groups/FG01", "/recordings", "/deidentify"]
DOCUMENTS = ["/report"]


def measure(study: chorus.Study, repeat: int, pages: list[str]) -> dict[str, dict[str, float]]:
    """Server time (ms) and size (KiB) of each page, and the cost of a coding write on a short and a long transcript."""
    import httpx

    users.add_user(study, "bench", PASSWORD, "owner")
    results: dict[str, dict[str, float]] = {}
    with served(study.folder) as base, httpx.Client(base_url=base, timeout=120) as client:
        csrf = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text).group(1)
        client.post("/login", data={"name": "bench", "password": PASSWORD, "csrf": csrf})
        token = re.search(r'const csrf = "([^"]+)"', client.get("/codes").text).group(1)
        for page in pages:
            first = client.get(page)  # once to warm imports and the connection
            first.raise_for_status()
            server, size = [], 0
            for _ in range(repeat if page in PAGES else 3):
                response = client.get(page)
                response.raise_for_status()
                server.append(float(re.search(r"dur=([0-9.]+)", response.headers["server-timing"]).group(1)))
                size = len(response.content) / 1024
            results[page] = {"p50": float(np.percentile(server, 50)), "p95": float(np.percentile(server, 95)), "kib": size,
                             "first": float(re.search(r"dur=([0-9.]+)", first.headers["server-timing"]).group(1))}
        turn = client.get("/api/transcripts/FG01").json()["turns"][10]
        body = {"transcript": "FG01", "code": "Funding", "start": turn["start"], "end": turn["start"] + 12}
        took = []
        for _ in range(50):
            made = client.post("/api/codings", json=body, headers={"X-CSRF-Token": token})
            gone = client.delete(f"/api/codings/{made.json()['id']}", headers={"X-CSRF-Token": token})
            took += [float(re.search(r"dur=([0-9.]+)", r.headers["server-timing"]).group(1)) for r in (made, gone)]
        turns = len(client.get("/api/transcripts/FG01").json()["turns"])
        results["write"] = {"p50": float(np.percentile(took, 50)), "p95": float(np.percentile(took, 95)), "turns": turns}
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--reference", type=Path, help="a study built by reference_study.py, timed on a copy (instead of building one)")
    parser.add_argument("--pages", nargs="+", metavar="PAGE", help="time these pages only (default: all)")
    args = parser.parse_args()
    pages = args.pages or PAGES + DOCUMENTS
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        if args.reference:
            shutil.copytree(args.reference, Path(tmp) / "reference")
            reference = chorus.open(Path(tmp) / "reference")
        else:
            reference = build(Path(tmp) / "reference")
            print(f"built the reference-size study in {time.perf_counter() - started:.0f} s")
        demo = guided(coded_by_three(code_demo(chorus.init(Path(tmp) / "demo"))))  # the same coders, for the agreement page
        big = measure(reference, args.repeat, pages)
        small = measure(demo, args.repeat, pages)
    print(f"{'page':<26}{'first':>7}{'reference p50':>14}{'p95':>8}{'KiB':>7}{'demo p95':>10}{'ratio':>7}  target p95 < 300 ms")
    for page in pages:
        b, s = big[page], small[page]
        print(f"{page if len(page) <= 25 else page[:24] + '…':<26}{b['first']:>4.0f} ms{b['p50']:>11.0f} ms{b['p95']:>5.0f} ms{b['kib']:>7.0f}{s['p95']:>7.0f} ms{b['p95'] / s['p95']:>6.1f}x  "
              f"{'document' if page in DOCUMENTS else 'met' if b['p95'] < 300 else 'NOT met'}")
    long_write, short_write = big["write"], small["write"]
    print(f"a coding written or removed through the API: {long_write['p50']:.1f} ms p50 on a {long_write['turns']:.0f}-turn transcript, "
          f"{short_write['p50']:.1f} ms on a {short_write['turns']:.0f}-turn one (x{long_write['p50'] / short_write['p50']:.2f})")


if __name__ == "__main__":
    main()
