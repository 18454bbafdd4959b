"""Benchmark: 50 coders coding and uncoding spans at once for 30 s, Chorus beside Taguette 1.5.2 (loopback only).

Each coder signs in with their own account and, in a loop, codes a span of one
of their own turns and removes it again: at a person's pace (a pause of about
a second, drawn at random, before each action) and then as fast as the server
answers, to show where it saturates. Two sets of transcripts: the demo study's
eight (about 40 turns each) and one 900-turn transcript (a 90-minute group),
where every coder codes in the same long transcript.

Chorus runs in uvicorn (``chorus serve``, 1 and 2 processes) over a study on
SQLite and, when ``CHORUS_BENCH_POSTGRES`` names a server, on PostgreSQL (a durable
one, as a team's server runs: not the tests' throwaway server, whose commits skip the disk).
Taguette 1.5.2, the open-source web QDA tool, runs as its own multi-user server
from its own venv (``benchmarks/peers``) on SQLite, with the same transcripts
as documents, the same code as a tag, the same 50 accounts and the same spans
(tag a span, untag it), in the same run. Reported for each: requests, p50/p95/
p99 latency, errors, and Chorus's ratio to Taguette; then each store is checked
against what the coders were told (nothing lost or duplicated). Baseline for
Chorus: the same library calls made directly, one at a time, without HTTP.

The code before a change (``--before REV [REV ...]``): the same load, in the same
run, on a study made and served by that revision of Chorus (its ``src`` taken with
``git archive``, one process, SQLite), so a change's gain is a ratio measured side
by side.

Rounds (``--rounds N``): every server above measured N times, taking turns, then
each one's median rate and percentiles, and each ratio's median with its lowest
and highest. On a 2-core machine that also runs the load and the database
server, one run's figures move by a third from run to run (Taguette's p95 at a
person's pace has been 180, 303 and 505 ms); a ratio taken within each round,
and its median over rounds, is what a claim can rest on.

The session check (``--session-check``, the demo set by default): the same load
on one process twice in the run, its sessions held by a signed cookie alone (as
before the server kept them) and kept by the server (as served), so the
difference is what reading a session from the store costs each request.

    make bench            # or: python benchmarks/bench_web.py [--coders 50 --seconds 30 --workers 1 2 --rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import sys
import tempfile
import textwrap
import time
from collections.abc import Awaitable, Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import chorus  # noqa: E402
from chorus.coding import apply_code, remove_coding  # noqa: E402
from chorus.study.models import Coding, Transcript, Turn  # noqa: E402
from chorus.web import users  # noqa: E402
from sqlalchemy import select  # noqa: E402

from benchmarks.peers import PeerMissing  # noqa: E402
from benchmarks.peers.taguette_server import Served, sign_in, taguette_served  # noqa: E402
from benchmarks.served import served, served_sessions  # noqa: E402
from tests.helpers import load_demo, long_transcript  # noqa: E402

PASSWORD = "benchmark password"
CODE = "Funding"
TAGUETTE = "Taguette 1.5.2, SQLite"
SETS = {"demo": "the demo's 8 transcripts (~40 turns each)", "long": "one 900-turn transcript"}


@dataclass
class Measured:
    """One run's figures: latencies in ms, errors, and the store check."""

    ms: np.ndarray
    seconds: float
    errors: list[str]
    check: str

    @property
    def rate(self) -> float:
        return len(self.ms) / self.seconds

    def percentile(self, q: float) -> float:
        return float(np.percentile(self.ms, q)) if len(self.ms) else float("nan")

    def line(self, label: str) -> str:
        """Two lines under 80 columns: the rate and latencies, then the count, errors and store check."""
        p50, p95, p99 = (self.percentile(q) for q in (50, 95, 99))
        return (
            f"  {label:<32} {self.rate:>4,.0f}/s  p50 {p50:>5,.0f}  p95 {p95:>5,.0f}  p99 {p99:>5,.0f} ms\n"
            f"    {len(self.ms):,} requests, {len(self.errors)} errors; store: {self.check}"
        )


def prepare(study: chorus.Study, which: str, folder: Path) -> None:
    """The demo study; for ``long``, one 900-turn transcript besides."""
    load_demo(study)
    if which == "long":
        long_transcript(study, folder, "FG-long", 900)


def spans(study: chorus.Study, coders: int, which: str) -> list[tuple[str, int, int]]:
    """One span per coder: the first 30 characters of a participant's turn, each coder their own."""
    query = select(Transcript.name, Turn.start, Turn.end).join(Transcript).where(Turn.end - Turn.start > 40)
    if which == "long":
        query = query.where(Transcript.name == "FG-long")
    with study.reading() as session:
        rows = session.execute(query.order_by(Transcript.name, Turn.start)).all()
    return [(name, start, start + 30) for name, start, _ in rows[:coders]]


@dataclass
class Signed:
    """A signed-in coder's way to code its span on one server, and to remove the coding made."""

    path: str
    body: dict
    headers: dict[str, str]
    removal: Callable[[dict], str]


async def chorus_signed(client, name: str, span: tuple[str, int, int], _: object = None) -> Signed:
    page = await client.get("/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    await client.post("/login", data={"name": name, "password": PASSWORD, "csrf": csrf})
    token = re.search(r'"csrf": "([^"]+)"', (await client.get(f"/transcripts/{span[0]}")).text).group(1)  # the coding page's settings
    body = {"transcript": span[0], "code": CODE, "start": span[1], "end": span[2]}
    return Signed("/api/codings", body, {"X-CSRF-Token": token}, lambda made: f"/api/codings/{made['id']}")


async def taguette_signed(client, name: str, span: tuple[str, int, int], served: Served) -> Signed:
    headers = await sign_in(client, name, PASSWORD)
    document = f"/api/project/{served.project}/document/{served.documents[span[0]]}/highlight"
    body = {"start_offset": span[1], "end_offset": span[2], "tags": [served.tags[CODE]]}
    return Signed(f"{document}/new", body, headers, lambda made: f"{document}/{made['id']}")


async def coder(client, signed: Signed, seed: int, until: float, think: float, latencies: list[float], errors: list[str], alive: set[int]) -> None:
    """Code the span, remove the coding, again until ``until``; every request timed, every coding told made tracked."""
    rng = np.random.default_rng(seed)
    await asyncio.sleep(rng.uniform(0, think))  # coders do not start in step
    import httpx

    while time.perf_counter() < until:
        await asyncio.sleep(rng.exponential(think) if think else 0)
        start = time.perf_counter()
        try:
            made = await client.post(signed.path, json=signed.body, headers=signed.headers)
        except httpx.TransportError as exc:  # the connection dropped: an error to count, not the end of the run
            latencies.append(time.perf_counter() - start)
            errors.append(f"POST {type(exc).__name__}")
            continue
        latencies.append(time.perf_counter() - start)
        if not made.is_success:
            errors.append(f"POST {made.status_code} {made.text[:80]}")
            continue
        alive.add(made.json()["id"])
        await asyncio.sleep(rng.exponential(think) if think else 0)
        start = time.perf_counter()
        try:
            gone = await client.delete(signed.removal(made.json()), headers=signed.headers)
        except httpx.TransportError as exc:  # whether it was removed is unknown: the store check tells
            latencies.append(time.perf_counter() - start)
            errors.append(f"DELETE {type(exc).__name__}")
            continue
        latencies.append(time.perf_counter() - start)
        if gone.is_success:
            alive.discard(made.json()["id"])
        else:
            errors.append(f"DELETE {gone.status_code} {gone.text[:80]}")


async def load(
    base: str, sign: Callable[..., Awaitable[Signed]], names: list[str], chosen: list[tuple[str, int, int]], seconds: float, think: float,
    served: Served | None = None,
) -> tuple[list[float], list[str], set[int]]:
    """Every coder signs in first; then all code for ``seconds``."""
    import httpx

    latencies: list[float] = []
    errors: list[str] = []
    alive: set[int] = set()
    # idle connections dropped before a server drops them (uvicorn after 5 s): signing 50 in takes longer than that
    limits = httpx.Limits(keepalive_expiry=4)
    clients = [httpx.AsyncClient(base_url=base, follow_redirects=False, timeout=30, limits=limits) for _ in names]

    async def signed_in(client, name: str, span: tuple[str, int, int]) -> Signed:
        # A kept-alive connection the server closes as the next request goes out ends that request with no answer;
        # a browser sends it again on a new connection, and so does this (counted among the errors).
        try:
            return await sign(client, name, span, served)
        except httpx.RemoteProtocolError as exc:
            errors.append(f"sign-in {type(exc).__name__}: signed in again")
            return await sign(client, name, span, served)

    try:
        signed = await asyncio.gather(*(signed_in(c, n, s) for c, n, s in zip(clients, names, chosen)))
        until = time.perf_counter() + seconds
        await asyncio.gather(*(coder(c, g, i, until, think, latencies, errors, alive) for i, (c, g) in enumerate(zip(clients, signed))))
    finally:
        await asyncio.gather(*(c.aclose() for c in clients))
    return latencies, errors, alive


def checked(alive: set[int], stored: set[int], duplicates: int) -> str:
    lost, extra = alive - stored, stored - alive
    return f"{len(lost)} lost, {len(extra)} unexpected, {duplicates} duplicated"


def coder_names(count: int) -> list[str]:
    """The benchmark's coders' account names, the same on every server."""
    return [f"coder{i:02d}" for i in range(count)]


def ready(study: chorus.Study, which: str, folder: Path, coders: int) -> list[tuple[str, int, int]]:
    """The study prepared, its ``coders`` accounts made; each coder's span."""
    prepare(study, which, folder)
    for name in coder_names(coders):
        users.add_user(study, name, PASSWORD, "coder")
    return spans(study, coders, which)


def stored(study: chorus.Study) -> tuple[set[int], int]:
    """The codings the store holds, and how many spans a coder holds twice."""
    from sqlalchemy import func

    with study.reading() as session:
        ids = set(session.scalars(select(Coding.id)))
        key = (Coding.transcript_id, Coding.start, Coding.end, Coding.coder_id)
        duplicates = session.execute(
            select(func.count()).select_from(select(*key).group_by(*key).having(func.count() > 1).subquery())
        ).scalar()
    return ids, duplicates


def coding_load(base: str, chosen: list[tuple[str, int, int]], seconds: float, think: float) -> tuple[list[float], list[str], set[int]]:
    """The coders of :func:`ready` coding their spans on the Chorus at ``base``."""
    return asyncio.run(load(base, chorus_signed, coder_names(len(chosen)), chosen, seconds, think))


def run_chorus(
    study: chorus.Study, which: str, folder: Path, coders: int, seconds: float, think: float, workers: int,
    serve: Callable[[Path], AbstractContextManager[str]] | None = None,
) -> Measured:
    """``coders`` coding in ``study`` served by ``chorus serve --workers`` (or by ``serve(folder)``)."""
    chosen = ready(study, which, folder, coders)
    with (serve or (lambda f: served(f, workers)))(study.folder) as base:
        latencies, errors, alive = coding_load(base, chosen, seconds, think)
    return Measured(np.array(latencies) * 1000, seconds, errors, checked(alive, *stored(study)))


def in_revision(source: Path, function: str, *args: object) -> object:
    """``function(*args)`` of this module run by the Chorus in ``source``; its result as JSON gives it.

    The study of a run against earlier code is made, and checked, by that code, whose
    store may be at an older schema than this checkout's.
    """
    import json
    import subprocess

    call = f"import json, sys; from benchmarks.bench_web import {function}; print(json.dumps({function}(*json.loads(sys.argv[1]))))"
    done = subprocess.run([sys.executable, "-c", call, json.dumps([str(a) if isinstance(a, Path) else a for a in args])],
                          env={**os.environ, "PYTHONPATH": f"{source}{os.pathsep}{ROOT}"}, cwd=ROOT, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"{function} at {source.parent.name[:10]} failed: {done.stderr[-2000:]}")
    return json.loads(done.stdout.splitlines()[-1])


def ready_at(folder: str, which: str, scratch: str, coders: int) -> list[tuple[str, int, int]]:
    """:func:`ready` on a new SQLite study in ``folder`` (for :func:`in_revision`)."""
    with chorus.init(Path(folder)) as study:
        return ready(study, which, Path(scratch), coders)


def stored_at(folder: str) -> tuple[list[int], int]:
    """:func:`stored` of the study in ``folder`` (for :func:`in_revision`)."""
    with chorus.open(Path(folder)) as study:
        ids, duplicates = stored(study)
    return sorted(ids), duplicates


def run_before(source: Path, which: str, folder: Path, coders: int, seconds: float, think: float) -> Measured:
    """The same load on a study made and served (one process, SQLite) by the Chorus in ``source``."""
    study = folder / "before"
    chosen = [tuple(span) for span in in_revision(source, "ready_at", study, which, folder, coders)]
    with served(study, 1, source) as base:
        latencies, errors, alive = coding_load(base, chosen, seconds, think)
    ids, duplicates = in_revision(source, "stored_at", study)
    return Measured(np.array(latencies) * 1000, seconds, errors, checked(alive, set(ids), duplicates))


def run_taguette(which: str, folder: Path, coders: int, seconds: float, think: float) -> Measured:
    """The same coders, transcripts and spans against Taguette, its store checked the same way."""
    import sqlite3

    reference = chorus.init(folder / "reference")
    prepare(reference, which, folder)
    chosen = spans(reference, coders, which)
    with reference.reading() as session:
        documents = dict(session.execute(select(Transcript.name, Transcript.text)).all())
    reference.close()
    names = coder_names(coders)
    with taguette_served(folder, names, PASSWORD, documents, {CODE: ""}) as taguette:
        latencies, errors, alive = asyncio.run(load(taguette.base, taguette_signed, names, chosen, seconds, think, taguette))
    with sqlite3.connect(folder / "taguette.sqlite3") as store:
        stored = {row[0] for row in store.execute("SELECT id FROM highlights")}
        duplicates = store.execute(
            "SELECT count(*) FROM (SELECT 1 FROM highlights GROUP BY document_id, start_offset, end_offset HAVING count(*) > 1)"
        ).fetchone()[0]
    return Measured(np.array(latencies) * 1000, seconds, errors, checked(alive, stored, duplicates))


def baseline(study: chorus.Study, span: tuple[str, int, int]) -> float:
    """The same write and removal as library calls, one at a time, no HTTP: ms per call."""
    name, start, end = span
    timings = []
    for _ in range(50):
        t = time.perf_counter()
        coding_id = apply_code(study, name, CODE, "baseline", start=start, end=end)
        remove_coding(study, coding_id)
        timings.append((time.perf_counter() - t) / 2)
    return float(np.median(timings)) * 1000


def postgres_study(url: str, folder: Path) -> tuple[chorus.Study, object]:
    """A study in a schema of its own on the PostgreSQL server; the second value drops the schema."""
    from sqlalchemy import create_engine, text

    from chorus.study.store import _normalise_url

    schema = f"bench_{os.getpid()}_{time.monotonic_ns()}"
    admin = create_engine(_normalise_url(url))
    with admin.begin() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    separator = "&" if "?" in url else "?"
    study = chorus.init(folder, db=f"{url}{separator}options=-csearch_path%3D{schema}")

    def drop() -> None:
        study.close()
        with admin.begin() as connection:
            connection.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        admin.dispose()

    return study, drop


def revision_source(revision: str) -> Path:
    """Chorus's ``src`` at a git revision of this repository, unpacked once under ``build/before/``."""
    import subprocess

    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--verify", f"{revision}^{{commit}}"],
                            capture_output=True, text=True, check=True).stdout.strip()
    folder = ROOT / "build" / "before" / commit
    if not (folder / "src" / "chorus").is_dir():
        folder.mkdir(parents=True, exist_ok=True)
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", commit, "src"], capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    return folder / "src"


def session_check(folder: Path, which: str, coders: int, seconds: float, think: float) -> None:
    """What reading a session from the store costs each request: the same load, one process, the two ways sessions are held."""
    measured = {}
    for signed in (True, False):
        study = chorus.init(folder / f"sessions-{'signed' if signed else 'kept'}")
        try:
            measured[signed] = run_chorus(study, which, folder, coders, seconds, think, 1, lambda f, s=signed: served_sessions(f, s))
        finally:
            study.close()
        label = "cookie-only sessions" if signed else "server-kept sessions"
        print(measured[signed].line(f"Chorus, {label}"))
    before, after = measured[True], measured[False]
    print(f"    session check, same run: p50 {after.percentile(50) - before.percentile(50):+.1f} ms, "
          f"p95 {after.percentile(95) - before.percentile(95):+.1f} ms, throughput x{after.rate / before.rate:.2f}")


@dataclass
class Round:
    """One round of a set at one pace: each server's figures by label, and Chorus's library call without HTTP."""

    measured: dict[str, Measured]
    direct: dict[str, float]
    served: dict[str, tuple[str, int]]  # Chorus's labels: which store, how many processes
    earlier: dict[str, str]  # Chorus at earlier revisions: each revision's label


def one_round(which: str, think: float, folder: Path, coders: int, seconds: float, workers: list[int],
              before: dict[str, Path], url: str | None) -> Round:
    """Taguette, the earlier revisions, then Chorus on each store and process count: the same load on each, in turn.

    Each server's line is printed as soon as it is measured.
    """
    folder.mkdir(parents=True, exist_ok=True)
    run = Round({}, {}, {}, {})
    try:
        run.measured[TAGUETTE] = run_taguette(which, folder / "taguette", coders, seconds, think)
        print_line(TAGUETTE, run)
    except PeerMissing as missing:
        print(f"  Taguette: not measured, needs {missing}")
    for revision, source in before.items():
        label = f"Chorus {revision[:10]}, SQLite, 1 proc."
        run.earlier[revision] = label
        run.measured[label] = run_before(source, which, folder / revision, coders, seconds, think)
        print_line(label, run)
    stores = [("SQLite", lambda f: (chorus.init(f), lambda: None))]
    if url:
        stores.append(("PostgreSQL", lambda f: postgres_study(url, f)))
    for (store, make), processes in [(s, w) for s in stores for w in workers]:
        study, drop = make(folder / f"{store}-{processes}")
        label = chorus_label(store, processes)
        run.served[label] = (store, processes)
        try:
            run.measured[label] = run_chorus(study, which, folder, coders, seconds, think, processes)
            run.direct[label] = baseline(study, spans(study, 1, which)[0])
        finally:
            drop()
        print_line(label, run)
    return run


def chorus_label(store: str, processes: int) -> str:
    """How Chorus served on ``store`` by ``processes`` server processes is named in the output."""
    return f"Chorus, {store}, {processes} process{'es' if processes > 1 else ''}"


def comparisons(label: str, run: Round) -> dict[str, dict[str, float]]:
    """Chorus's figures in ``label`` as ratios: to Taguette, to one process of the same store, to each earlier revision."""
    ours = run.measured[label]
    if not len(ours.ms):
        return {}
    against: dict[str, dict[str, float]] = {}
    rival = run.measured.get(TAGUETTE)
    if rival is not None and len(rival.ms):
        against["vs Taguette"] = {"throughput": ours.rate / rival.rate, "p50": ours.percentile(50) / rival.percentile(50),
                                  "p95": ours.percentile(95) / rival.percentile(95)}
    store, processes = run.served[label]
    one = run.measured.get(chorus_label(store, 1))
    if processes > 1 and one is not None and len(one.ms):
        against["vs 1 process"] = {"throughput": ours.rate / one.rate}
    for revision, other in run.earlier.items():
        then = run.measured[other]
        if len(then.ms):
            against[f"vs {revision[:10]}"] = {
                "throughput": ours.rate / then.rate, "p95": ours.percentile(95) / then.percentile(95)}
    return against


def ratio_text(ratios: list[float]) -> str:
    """One ratio, or over several rounds their median and range."""
    if len(ratios) == 1:
        return f"x{ratios[0]:.2f}"
    return f"x{np.median(ratios):.2f} ({min(ratios):.2f}-{max(ratios):.2f})"


def print_line(label: str, run: Round) -> None:
    """A server's figures in this round; under Chorus's, its ratios to what was measured before it."""
    figures = run.measured[label]
    print(figures.line(label))
    if label in run.served:
        for name, ratios in comparisons(label, run).items():
            print(f"    {name}: " + ", ".join(f"{what} {ratio_text([r])}" for what, r in ratios.items()))
        print(f"    library call without HTTP {run.direct[label]:.1f} ms, p50 is x{figures.percentile(50) / run.direct[label]:.1f} of it")
    if figures.errors:
        print(textwrap.fill(f"first errors: {figures.errors[:3]}", 80, initial_indent="    ", subsequent_indent="      "))


def print_rounds(runs: list[Round]) -> None:
    """Over several rounds: each server's median rate and percentiles, and each ratio's median with its range."""
    print(f"  median of {len(runs)} rounds (p95 and ratios: median, and lowest-highest):")
    for label in runs[0].measured:
        each = [run.measured[label] for run in runs if label in run.measured]
        p95 = [m.percentile(95) for m in each]
        print(f"  {label:<32} {np.median([m.rate for m in each]):>4,.0f}/s  p50 {np.median([m.percentile(50) for m in each]):>5,.0f}"
              f"  p95 {np.median(p95):>5,.0f} ({min(p95):.0f}-{max(p95):.0f}) ms")
        if label in runs[0].served:
            per_round = [comparisons(label, run) for run in runs]
            for name, ratios in per_round[0].items():
                # each figure kept whole on a line of 80 columns (textwrap does not break at a no-break space)
                text = f"{name}: " + ", ".join(f"{what} {ratio_text([r[name][what] for r in per_round if name in r])}".replace(" ", "\u00a0")
                                               for what in ratios)
                print(textwrap.fill(text, 80, initial_indent="    ", subsequent_indent="      ").replace("\u00a0", " "))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--coders", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--think", type=float, nargs="+", default=[1.0, 0.0], help="seconds between a coder's actions (0: no pause)")
    parser.add_argument("--workers", type=int, nargs="+", default=[1], help="server processes (chorus serve --workers)")
    parser.add_argument("--sets", nargs="+", default=list(SETS), choices=list(SETS), help="which transcripts")
    parser.add_argument("--before", metavar="REV", nargs="+", default=[],
                        help="also serve the study with these git revisions of Chorus (1 process, SQLite) as baselines")
    parser.add_argument("--rounds", type=int, default=1,
                        help="measure every server this many times, taking turns, and print medians: this machine's figures move from run to run")
    parser.add_argument("--session-check", nargs="*", default=["demo"], choices=list(SETS),
                        help="sets on which to measure sessions kept by the server against signed cookies alone (SQLite, 1 process)")
    args = parser.parse_args()
    url = os.environ.get("CHORUS_BENCH_POSTGRES")
    before = {revision: revision_source(revision) for revision in args.before}
    for which, think in [(w, t) for w in args.sets for t in args.think]:
        pace_text = f"about one action every {think:g} s each" if think else "as fast as the server answers"
        print(f"{SETS[which]}, {args.coders} coders,\n  {pace_text}, {args.seconds:.0f} s each:")
        with tempfile.TemporaryDirectory() as tmp:
            runs = []
            for number in range(args.rounds):
                if args.rounds > 1:
                    print(f"  round {number + 1} of {args.rounds}:")
                runs.append(one_round(which, think, Path(tmp) / f"round-{number}", args.coders, args.seconds, args.workers, before, url))
            if args.rounds > 1:
                print_rounds(runs)
            if not url:
                print("  Chorus on PostgreSQL: not measured (set CHORUS_BENCH_POSTGRES)")
            if which in args.session_check:
                session_check(Path(tmp), which, args.coders, args.seconds, think)


if __name__ == "__main__":
    main()
