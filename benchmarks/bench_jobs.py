"""Benchmark: the web app's pages while its worker transcribes a 30-minute recording, and a 500 MB upload's memory.

The demo study is served by ``chorus serve`` (one web process, one job worker at
lowered priority) on loopback. One signed-in user loads the study page and a
transcript page, one after another, first with no job running (the baseline of
this run), then while the worker transcribes a 30-minute recording of spoken
focus-group talk (espeak-ng voices, made here); printed: p50/p95 latency as the
browser sees it and the app's own time (``Server-Timing``), and the ratio to the
baseline. Target (issue 14): p95 under 300 ms while the job runs.

Then a 500 MB recording is uploaded (streamed by the client) while the server
process's resident memory is sampled every 50 ms: printed, its idle and peak RSS.
Target: peak within 50 MB of idle (the body never held in memory).

    make bench            # or: python benchmarks/bench_jobs.py [--loads 100]
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import threading
import time
import wave
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import chorus  # noqa: E402
from chorus.audio.synthetic import FOCUS_GROUP, speak  # noqa: E402
from chorus.web import users  # noqa: E402
from benchmarks.served import served  # noqa: E402
from tests.helpers import load_demo  # noqa: E402

PASSWORD = "benchmark password"
PAGES = ["/", "/transcripts/FG01"]


def long_recording(folder: Path, minutes: float) -> Path:
    """Spoken focus-group talk repeated to ``minutes`` long, 16 kHz mono."""
    once = speak(FOCUS_GROUP, folder / "once.wav").path
    with wave.open(str(once)) as source:
        params, frames = source.getparams(), source.readframes(source.getnframes())
    repeats = int(np.ceil(minutes * 60 * params.framerate / params.nframes))
    path = folder / "FG05.wav"
    with wave.open(str(path), "wb") as out:
        out.setparams(params)
        for _ in range(repeats):
            out.writeframes(frames)
    return path


def silent_wav(path: Path, size: int) -> Path:
    """A WAV file of ``size`` bytes of silence, written in pieces."""
    frames = (size - 44) // 2
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16000)
        block = b"\x00\x00" * 1_048_576
        for _ in range(frames // 1_048_576):
            out.writeframes(block)
        out.writeframes(b"\x00\x00" * (frames % 1_048_576))
    return path


def signed_in(base: str):
    import httpx

    client = httpx.Client(base_url=base, timeout=600)
    csrf = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text).group(1)
    client.post("/login", data={"name": "olive", "password": PASSWORD, "csrf": csrf})
    token = re.search(r'const csrf = "([^"]+)"', client.get("/recordings").text).group(1)
    return client, {"X-CSRF-Token": token}


def loads(client, count: int) -> tuple[np.ndarray, np.ndarray]:
    """Seen and server milliseconds of ``count`` page loads, the pages in turn."""
    seen, server = [], []
    for i in range(count):
        start = time.perf_counter()
        response = client.get(PAGES[i % len(PAGES)])
        seen.append((time.perf_counter() - start) * 1000)
        server.append(float(re.search(r"dur=([\d.]+)", response.headers["server-timing"]).group(1)))
    return np.array(seen), np.array(server)


def line(label: str, seen: np.ndarray, server: np.ndarray, base: float | None = None) -> str:
    ratio = f"; p95 x{np.percentile(seen, 95) / base:.2f} of idle" if base else ""
    return (f"  {label:<34} seen p50 {np.percentile(seen, 50):6.1f} ms, p95 {np.percentile(seen, 95):6.1f} ms; "
            f"app p95 {np.percentile(server, 95):6.1f} ms{ratio}")


def server_process(base: str):
    """The process answering on ``base``'s port."""
    import psutil

    port = int(base.rsplit(":", 1)[1])
    for connection in psutil.net_connections(kind="tcp"):
        if connection.status == psutil.CONN_LISTEN and connection.laddr.port == port and connection.pid:
            return psutil.Process(connection.pid)
    raise RuntimeError(f"no process listens on {port}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--loads", type=int, default=100)
    parser.add_argument("--minutes", type=float, default=30)
    parser.add_argument("--upload-mb", type=int, default=500)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        study = chorus.init(tmp / "study")
        load_demo(study)
        users.add_user(study, "olive", PASSWORD, "owner")
        recording = long_recording(tmp, args.minutes)
        print(f"pages while one worker transcribes a {args.minutes:g}-minute recording ({len(PAGES)} pages in turn, {args.loads} loads each phase):")
        with served(study.folder) as base:
            client, headers = signed_in(base)
            idle_seen, idle_server = loads(client, args.loads)
            print(line("no job running", idle_seen, idle_server))
            with recording.open("rb") as handle:
                made = client.post("/api/recordings", files={"files": (recording.name, handle, "audio/wav")}, headers=headers)
            job = made.json()["jobs"][0]
            while not any(j["id"] == job and j["state"] == "running" and j["fraction"] > 0 for j in client.get("/api/jobs").json()):
                time.sleep(0.2)
            busy_seen, busy_server = loads(client, args.loads)
            stage = next(j for j in client.get("/api/jobs").json() if j["id"] == job)
            print(line("a job running", busy_seen, busy_server, float(np.percentile(idle_seen, 95)))
                  + f" [target p95 < 300 ms: {'met' if np.percentile(busy_seen, 95) < 300 else 'NOT met'}]")
            print(f"  (the job was at '{stage['stage']}', {stage['fraction']:.0%}, when the loads ended; it is cancelled now)")
            client.post(f"/api/jobs/{job}/cancel", headers=headers)

            big = silent_wav(tmp / "FG06.wav", args.upload_mb * 1024 * 1024)
            process = server_process(base)
            idle = process.memory_info().rss
            peak, done = [idle], threading.Event()

            def sample() -> None:
                while not done.is_set():
                    peak[0] = max(peak[0], process.memory_info().rss)
                    time.sleep(0.05)

            sampler = threading.Thread(target=sample)
            sampler.start()
            start = time.perf_counter()
            with big.open("rb") as handle:
                answer = client.post("/api/recordings", files={"files": (big.name, handle, "audio/wav")}, headers=headers)
            seconds = time.perf_counter() - start
            done.set()
            sampler.join()
            for made_job in answer.json().get("jobs", []):
                client.post(f"/api/jobs/{made_job}/cancel", headers=headers)
            grew = (peak[0] - idle) / 2**20
            print(f"a {args.upload_mb} MB upload ({answer.status_code}, {seconds:.1f} s): server RSS idle {idle / 2**20:.0f} MiB, "
                  f"peak {peak[0] / 2**20:.0f} MiB (+{grew:.0f} MiB) [target within 50 MB: {'met' if grew * 1.048576 <= 50 else 'NOT met'}]")


if __name__ == "__main__":
    main()
