"""Benchmark: 50 coders applying and removing codings at once for 30 s against the web app (loopback only).

Each coder signs in with their own account and, in a loop, codes a span of one
of their own turns and removes it again: at a person's pace (a pause of about
a second, drawn at random, before each action) and then as fast as the server
answers, to show where it saturates. The
app runs in uvicorn on 127.0.0.1 over a study on SQLite and, when
``CHORUS_TEST_POSTGRES`` names a server, on PostgreSQL. Reported: requests,
p50/p95/p99 latency, errors; then the store is checked against what the
coders were told: every coding reported made and not removed is there, nothing
else is (no lost or duplicated codings). Baseline in the same run: the same
library calls made directly, one at a time, without HTTP. Target (issue 7):
p95 under 100 ms with zero lost or duplicated codings.

    make bench            # or: python benchmarks/bench_web.py [--coders 50 --seconds 30]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import chorus  # noqa: E402
from chorus.coding import apply_code, remove_coding  # noqa: E402
from chorus.study.models import Coding, Transcript, Turn  # noqa: E402
from chorus.web import users  # noqa: E402
from served import served  # noqa: E402
from tests.helpers import load_demo  # noqa: E402

PASSWORD = "benchmark password"


def spans(study: chorus.Study, coders: int) -> list[tuple[str, int, int]]:
    """One span per coder: the first 30 characters of a participant's turn, each coder their own."""
    from sqlalchemy import select

    with study.reading() as session:
        rows = session.execute(
            select(Transcript.name, Turn.start, Turn.end).join(Transcript).where(Turn.end - Turn.start > 40).order_by(Transcript.name, Turn.start)
        ).all()
    return [(name, start, start + 30) for name, start, _ in rows[:coders]]


async def coder(
    client, name: str, span: tuple[str, int, int], until: float, think: float, latencies: list[float], errors: list[str], alive: set[int]
) -> None:
    page = await client.get("/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    await client.post("/login", data={"name": name, "password": PASSWORD, "csrf": csrf})
    token = re.search(r'const csrf = "([^"]+)"', (await client.get(f"/transcripts/{span[0]}")).text).group(1)
    headers = {"X-CSRF-Token": token}
    body = {"transcript": span[0], "code": "Funding", "start": span[1], "end": span[2]}
    rng = np.random.default_rng(abs(hash(name)) % 2**32)
    await asyncio.sleep(rng.uniform(0, think))  # coders do not start in step
    while time.perf_counter() < until:
        await asyncio.sleep(rng.exponential(think) if think else 0)
        start = time.perf_counter()
        made = await client.post("/api/codings", json=body, headers=headers)
        latencies.append(time.perf_counter() - start)
        if made.status_code != 201:
            errors.append(f"POST {made.status_code} {made.text[:80]}")
            continue
        coding_id = made.json()["id"]
        alive.add(coding_id)
        await asyncio.sleep(rng.exponential(think) if think else 0)
        start = time.perf_counter()
        gone = await client.delete(f"/api/codings/{coding_id}", headers=headers)
        latencies.append(time.perf_counter() - start)
        if gone.status_code == 204:
            alive.discard(coding_id)
        else:
            errors.append(f"DELETE {gone.status_code} {gone.text[:80]}")


async def load(base: str, names: list[str], chosen: list[tuple[str, int, int]], seconds: float, think: float) -> tuple[list[float], list[str], set[int]]:
    import httpx

    latencies: list[float] = []
    errors: list[str] = []
    alive: set[int] = set()
    until = time.perf_counter() + seconds
    clients = [httpx.AsyncClient(base_url=base, follow_redirects=False, timeout=30) for _ in names]
    try:
        await asyncio.gather(*(coder(c, n, s, until, think, latencies, errors, alive) for c, n, s in zip(clients, names, chosen)))
    finally:
        await asyncio.gather(*(c.aclose() for c in clients))
    return latencies, errors, alive


def run(label: str, study: chorus.Study, coders: int, seconds: float, think: float, workers: int = 1) -> None:
    load_demo(study)
    names = [f"coder{i:02d}" for i in range(coders)]
    for name in names:
        users.add_user(study, name, PASSWORD, "coder")
    chosen = spans(study, coders)
    with served(study.folder, workers) as base:
        latencies, errors, alive = asyncio.run(load(base, names, chosen, seconds, think))
    from sqlalchemy import func, select

    with study.reading() as session:
        stored = set(session.scalars(select(Coding.id)))
        duplicates = session.execute(
            select(func.count()).select_from(select(Coding.transcript_id, Coding.start, Coding.end, Coding.coder_id).group_by(Coding.transcript_id, Coding.start, Coding.end, Coding.coder_id).having(func.count() > 1).subquery())
        ).scalar()
    lost, extra = alive - stored, stored - alive
    ms = np.array(latencies) * 1000
    p50, p95, p99 = np.percentile(ms, [50, 95, 99]) if len(ms) else (float("nan"),) * 3
    # baseline: the same library calls, one at a time, no HTTP
    name, start, end = chosen[0]
    timings = []
    for _ in range(50):
        t = time.perf_counter()
        coding_id = apply_code(study, name, "Funding", "baseline", start=start, end=end)
        remove_coding(study, coding_id)
        timings.append((time.perf_counter() - t) / 2)
    direct = float(np.median(timings)) * 1000
    print(
        f"{label}, {workers} server process{'es' if workers > 1 else ''}, {coders} coders, {'about one action every ' + format(think, 'g') + ' s each' if think else 'as fast as the server answers'}: "
        f"{len(ms):,} requests in {seconds:.0f} s ({len(ms) / seconds:,.0f}/s); "
        f"p50 {p50:.1f} ms, p95 {p95:.1f} ms, p99 {p99:.1f} ms; {len(errors)} errors"
        f" [target p95 < 100 ms: {'met' if p95 < 100 else 'NOT met'}]"
    )
    print(f"  store check: {len(lost)} lost, {len(extra)} unexpected, {duplicates} duplicated codings; "
          f"baseline (library call, no HTTP, one at a time): {direct:.1f} ms per write, so p50 is x{p50 / direct:.1f} of it")
    if errors:
        print(f"  first errors: {errors[:3]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--coders", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--think", type=float, nargs="+", default=[1.0, 0.0], help="seconds between a coder's actions (0: no pause)")
    parser.add_argument("--workers", type=int, nargs="+", default=[1], help="server processes (chorus serve --workers)")
    args = parser.parse_args()
    url = os.environ.get("CHORUS_TEST_POSTGRES")
    for think, workers in [(t, w) for t in args.think for w in args.workers]:
        with tempfile.TemporaryDirectory() as tmp:
            run("SQLite", chorus.init(Path(tmp) / "sqlite"), args.coders, args.seconds, think, workers)
            if not url:
                print("PostgreSQL: not measured (set CHORUS_TEST_POSTGRES, as .ci/services.sh does)")
                continue
            from sqlalchemy import create_engine, text

            from chorus.study.store import _normalise_url

            schema = f"bench_{os.getpid()}"
            admin = create_engine(_normalise_url(url))
            with admin.begin() as connection:
                connection.execute(text(f"CREATE SCHEMA {schema}"))
            try:
                separator = "&" if "?" in url else "?"
                study = chorus.init(Path(tmp) / "pg", db=f"{url}{separator}options=-csearch_path%3D{schema}")
                run("PostgreSQL", study, args.coders, args.seconds, think, workers)
                study.close()
            finally:
                with admin.begin() as connection:
                    connection.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
                admin.dispose()


if __name__ == "__main__":
    main()
