"""Benchmark: coding together, live. N coders each with their transcript page listening to the change stream.

For each store (SQLite; PostgreSQL when ``CHORUS_BENCH_POSTGRES`` names a server)
and each number of server processes (``chorus serve --workers``, 1 and 2):

- **Latency**: every coder codes and uncodes their span at a person's pace (about
  one action a second each, as ``bench_web.py``) while every coder's page listens
  (``GET /api/live``); for each write, the time from the coder sending it to the
  change arriving on each *other* coder's page of the same transcript (a page is
  sent the codings it draws, those of its own transcript): p50, p95, p99.
- **Throughput**: the same coders as fast as the server answers, with none
  listening and then every page listening (the pages close and open again), in
  turn for several rounds of one run, so that the server's and the machine's drift
  falls on both alike: requests a second and the server's CPU time a request, the
  ratio of each per round, and their median. On a 2-core machine the
  pages' own client shares the cores with the server, so the requests a second
  with pages listening fall for that alone; the CPU a request is the server's cost.
- **Memory**: the server's processes' resident memory with every page listening,
  less before any was opened, per open page.

The pages listen from a process of their own (the load generator must not share
the server's interpreter, nor the coders' event loop). Times are wall-clock
(``time.time()``) in both processes, on one machine.

    make bench            # or: python benchmarks/bench_live.py [--coders 50 --seconds 20 --workers 1 2]
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import json
import multiprocessing
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import chorus  # noqa: E402
from benchmarks.bench_web import Signed, chorus_signed, coder_names, coding_load, postgres_study, ready  # noqa: E402
from benchmarks.served import served  # noqa: E402

PACE = 1.0  # seconds between a coder's actions, on average (bench_web's person's pace)


def listen(base: str, names: list[str], chosen: list[tuple[str, int, int]], out: str, control: str) -> None:
    """A process of open pages: each of ``names`` signs in and opens their transcript's stream, noting when each change
    arrives. The folder ``control`` steers it: a file ``closed`` there closes every page (``shut`` says they are) and its
    removal opens them again (``open`` says they all are); ``stop`` ends it, and what was heard is written to ``out``."""
    asyncio.run(_listen(base, names, chosen, out, Path(control)))


async def _listen(base: str, names: list[str], chosen: list[tuple[str, int, int]], out: str, control: Path) -> None:
    import httpx

    heard: list[tuple[str, int, str, float]] = []  # listener, coding, kind, when
    opened: set[str] = set()
    clients = [httpx.AsyncClient(base_url=base, timeout=httpx.Timeout(60, read=None)) for _ in names]

    async def page(client: httpx.AsyncClient, name: str, span: tuple[str, int, int], timing: bool) -> None:
        """A page's stream; ``timing``: every change is read and its arrival noted, else the bytes are only taken in
        (flat out, where a browser on another machine would read them: here the pages share the server's two cores)."""
        last = None
        try:
            while True:  # a stream the server ends (its lifetime) is opened again from where it was, as EventSource does
                try:
                    async with client.stream("GET", f"/api/live?page=transcript:{span[0]}",
                                             headers={"Last-Event-ID": last} if last else {}) as answer:
                        if not timing:
                            async for chunk in answer.aiter_raw():
                                if b"retry:" in chunk:
                                    opened.add(name)
                            continue
                        async for line in answer.aiter_lines():
                            if line.startswith("retry:"):
                                opened.add(name)
                            elif line.startswith("id: "):
                                last = line[4:]
                            elif line.startswith("data: {"):
                                change = json.loads(line[6:])
                                if change.get("kind") in ("coding.added", "coding.removed"):
                                    heard.append((name, change["coding"], change["kind"], time.time()))
                except httpx.HTTPError:
                    await asyncio.sleep(0.5)
        finally:
            opened.discard(name)

    try:
        await asyncio.gather(*(chorus_signed(c, n, s) for c, n, s in zip(clients, names, chosen)))
        timing = True  # the first opening, for the latency; then the rounds of flat out
        while not (control / "stop").exists():
            pages = [asyncio.ensure_future(page(c, n, s, timing)) for c, n, s in zip(clients, names, chosen)]
            timing = False
            while not (control / "closed").exists() and not (control / "stop").exists():
                if len(opened) == len(names):
                    (control / "open").touch()
                await asyncio.sleep(0.05)
            (control / "open").unlink(missing_ok=True)
            for task in pages:
                task.cancel()
            await asyncio.gather(*pages, return_exceptions=True)
            (control / "shut").touch()
            while (control / "closed").exists() and not (control / "stop").exists():
                await asyncio.sleep(0.05)
            (control / "shut").unlink(missing_ok=True)
    finally:
        await asyncio.gather(*(c.aclose() for c in clients), return_exceptions=True)
        Path(out).write_text(json.dumps(heard))


async def _paced(base: str, names: list[str], chosen: list[tuple[str, int, int]], seconds: float) -> tuple[list[tuple[str, int, str, float]], int]:
    """Each coder codes their span and removes it at a person's pace; every write's coder, coding, kind and time sent."""
    import httpx

    sent: list[tuple[str, int, str, float]] = []
    errors = 0
    clients = [httpx.AsyncClient(base_url=base, timeout=30, limits=httpx.Limits(keepalive_expiry=4)) for _ in names]

    async def one(client: httpx.AsyncClient, signed: Signed, name: str, seed: int, until: float) -> None:
        nonlocal errors
        rng = np.random.default_rng(seed)
        await asyncio.sleep(rng.uniform(0, PACE))
        while time.time() < until:
            await asyncio.sleep(rng.exponential(PACE))
            at = time.time()
            made = await client.post(signed.path, json=signed.body, headers=signed.headers)
            if not made.is_success:
                errors += 1
                continue
            sent.append((name, made.json()["id"], "coding.added", at))
            await asyncio.sleep(rng.exponential(PACE))
            at = time.time()
            gone = await client.delete(signed.removal(made.json()), headers=signed.headers)
            if gone.is_success:
                sent.append((name, made.json()["id"], "coding.removed", at))
            else:
                errors += 1

    try:
        signed = await asyncio.gather(*(chorus_signed(c, n, s) for c, n, s in zip(clients, names, chosen)))  # everyone in, then the clock
        until = time.time() + seconds
        await asyncio.gather(*(one(c, g, n, i, until) for i, (c, g, n) in enumerate(zip(clients, signed, names))))
    finally:
        await asyncio.gather(*(c.aclose() for c in clients))
    return sent, errors


def server_processes(port: str) -> list:
    """The ``chorus serve`` on ``port`` and every process it started (psutil processes)."""
    import psutil

    found = []
    for process in psutil.Process().children(recursive=True):
        try:
            if port in " ".join(process.cmdline()):
                found += [process, *process.children(recursive=True)]
        except psutil.Error:
            continue
    return found


def server_memory(port: str) -> float:
    """Resident memory (MiB) of the server's processes."""
    return sum(p.memory_info().rss for p in server_processes(port)) / 2**20


def server_cpu(port: str) -> float:
    """CPU seconds the server's processes have used so far."""
    return sum(sum(p.cpu_times()[:2]) for p in server_processes(port))


def timed_load(base: str, chosen: list[tuple[str, int, int]], seconds: float) -> tuple[float, float, int]:
    """Flat out for ``seconds``: requests a second, the server's CPU ms a request, and errors.

    The CPU a request costs the server is the fairer figure where the pages, the coders and the server share two
    cores: there every listening page's client takes CPU the server would otherwise have.
    """
    port = base.rsplit(":", 1)[1]
    cpu = server_cpu(port)
    latencies, errors, _ = coding_load(base, chosen, seconds, 0.0)
    return len(latencies) / seconds, (server_cpu(port) - cpu) * 1000 / max(len(latencies), 1), len(errors)


def _until(path: Path, seconds: float = 120) -> bool:
    """Wait for ``path`` to exist; whether it did within ``seconds``."""
    deadline = time.time() + seconds
    while not path.exists() and time.time() < deadline:
        time.sleep(0.05)
    return path.exists()


def one_setting(study: chorus.Study, chosen: list[tuple[str, int, int]], label: str, processes: int, seconds: float, flat: float,
                rounds: int) -> None:
    names = coder_names(len(chosen))
    with served(study.folder, processes) as base, tempfile.TemporaryDirectory() as scratch:
        port = base.rsplit(":", 1)[1]
        control, out = Path(scratch), Path(scratch) / "heard.json"
        coding_load(base, chosen, 4.0, 0.0)  # warm: the first requests of a server are slower, whichever run has them
        time.sleep(1.0)
        before = server_memory(port)
        pages = multiprocessing.get_context("spawn").Process(target=listen, args=(base, names, chosen, str(out), str(control)))
        pages.start()
        if not _until(control / "open"):
            pages.kill()
            print(f"  {label}: the pages did not all open within 120 s; not measured")
            return
        time.sleep(3.0)  # every stream open and quiet
        per_page = (server_memory(port) - before) / len(names)
        sent, errors = asyncio.run(_paced(base, names, chosen, seconds))
        time.sleep(2.0)  # the last changes reach the pages
        # flat out, none listening and every page listening in turn, ``rounds`` times: the server's and the machine's
        # drift over the run falls on both alike, and the spread of the rounds' ratios says how far one figure is to be trusted
        none, listening = [], []
        for _ in range(rounds):
            (control / "closed").touch()
            _until(control / "shut")
            time.sleep(1.0)
            none.append(timed_load(base, chosen, flat))
            (control / "closed").unlink()
            _until(control / "open")
            time.sleep(1.0)
            listening.append(timed_load(base, chosen, flat))
        (control / "stop").touch()
        pages.join(timeout=60)
        if pages.is_alive():
            pages.kill()
        heard = json.loads(out.read_text()) if out.exists() else []
    arrived: dict[tuple[str, int, str], list[float]] = {}
    for who, coding, kind, when in heard:
        arrived.setdefault((who, coding, kind), []).append(when)
    delays, missing = [], 0
    shows = {name: span[0] for name, span in zip(names, chosen)}
    for writer, coding, kind, at in sent:  # SQLite gives a removed coding's id to the next: the first arrival after the write is its
        for name in names:
            if name == writer or shows[name] != shows[writer]:
                continue
            times = sorted(arrived.get((name, coding, kind), []))
            later = bisect.bisect_left(times, at)
            if later == len(times):
                missing += 1
            else:
                delays.append((times[later] - at) * 1000)
    p50, p95, p99 = np.percentile(delays, [50, 95, 99]) if delays else (float("nan"),) * 3
    print(f"  {label}: write to another coder's page p50 {p50:.0f} ms, p95 {p95:.0f} ms, p99 {p99:.0f} ms "
          f"({len(sent)} writes to {len(delays) + missing} pages, {missing} not heard, {errors} errors)")
    rate = [together[0] / alone[0] for together, alone in zip(listening, none)]
    cpu = [together[1] / alone[1] for together, alone in zip(listening, none)]
    flat_errors = sum(r[2] for r in none + listening)
    print(f"    flat out, {rounds} rounds of none listening then every page: {np.mean([r[0] for r in listening]):.0f} requests/s listening, "
          f"{np.mean([r[0] for r in none]):.0f} none: ratio {np.median(rate):.2f} (median; rounds {', '.join(f'{r:.2f}' for r in rate)}); "
          f"server CPU a request ratio {np.median(cpu):.2f} ({', '.join(f'{c:.2f}' for c in cpu)}); {flat_errors} errors; "
          f"memory per open page {per_page * 1024:.0f} KiB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--coders", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=20, help="seconds of coding at a person's pace, for the latency")
    parser.add_argument("--flat", type=float, default=6, help="seconds of coding flat out in each round, with and without the pages listening")
    parser.add_argument("--rounds", type=int, default=5, help="rounds of flat out with none listening and then every page")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="server processes (chorus serve --workers)")
    parser.add_argument("--stores", nargs="+", default=["SQLite", "PostgreSQL"], choices=["SQLite", "PostgreSQL"])
    args = parser.parse_args()
    print(f"Coding together, live: {args.coders} coders, each with their transcript page listening (the demo's 8 transcripts)")
    url = os.environ.get("CHORUS_BENCH_POSTGRES")
    with tempfile.TemporaryDirectory() as tmp:
        stores = [("SQLite", lambda folder: (chorus.init(folder), lambda: None))] if "SQLite" in args.stores else []
        if url and "PostgreSQL" in args.stores:
            stores.append(("PostgreSQL", lambda folder: postgres_study(url, folder)))
        for name, make in stores:
            for processes in args.workers:
                folder = Path(tmp) / f"{name}-{processes}"
                study, drop = make(folder)
                try:
                    chosen = ready(study, "demo", folder, args.coders)
                    one_setting(study, chosen, f"{name}, {processes} process{'es' if processes > 1 else ''}", processes, args.seconds, args.flat, args.rounds)
                finally:
                    drop()
        if not url and "PostgreSQL" in args.stores:
            print("  PostgreSQL: not measured (set CHORUS_BENCH_POSTGRES)")


if __name__ == "__main__":
    main()
