"""Benchmark: what the health-data security costs: sign-in under throttling, the session check, backups of a big store.

Three measurements, each against a baseline taken in the same run (issue 18):

- **Sign-in.** The web app in process (the study's own sign-in form, as a browser
  posts it): sign-ins with the right password and with a wrong one (both pay for
  argon2id), then attempts refused while the account is locked, which are
  answered without any password work. Printed: p50 and p95 of each, and the ratio.
- **The session check on every request.** The server-side session read (a signed
  cookie naming a session the store keeps, so sign-out and password changes end it)
  against the signed cookie alone that it replaced, on the same request; then a
  page's whole request (``/rounds``) to put it in proportion.
- **A store of 1,000,000 codings** (the synthetic study of ``bench_matrix.py``):
  ``chorus backup`` (SQLite's online backup, the manifest of hashes, and the copy
  opened and its audit chain verified), ``chorus log --verify`` on the store, and
  ``chorus restore`` (manifest, integrity and chain checked before anything is
  replaced), each timed once, beside the time to copy the store's file (the floor).

    make bench            # or: python benchmarks/bench_security.py [--codings 1000000]
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
from bench_matrix import build as build_synthetic  # noqa: E402
from chorus.study import audit  # noqa: E402
from chorus.study.backup import backup, restore  # noqa: E402
from tests.helpers import load_demo  # noqa: E402

PASSWORD = "benchmark password 77"


def _ms(values: list[float]) -> str:
    return f"{np.percentile(values, 50) * 1000:.2f} / {np.percentile(values, 95) * 1000:.2f} ms"


def sign_in_and_sessions(folder: Path, tries: int) -> None:
    """Sign-in with and without password work, and the session check, in process."""
    from fastapi.testclient import TestClient
    from starlette.requests import Request

    from chorus.web import users
    from chorus.web.app import create_app
    from chorus.web.security import KeptSessions, Sessions

    study = chorus.init(folder)
    load_demo(study, transcripts=["FG01"])
    users.add_user(study, "ann", PASSWORD, "owner")
    client = TestClient(create_app(study), follow_redirects=False)

    def attempt(password: str) -> tuple[float, int]:
        csrf = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text).group(1)
        started = time.perf_counter()
        answer = client.post("/login", data={"name": "ann", "password": password, "csrf": csrf})
        return time.perf_counter() - started, answer.status_code

    right = [attempt(PASSWORD)[0] for _ in range(tries)]
    wrong, refused = [], []
    while len(refused) < tries:  # wrong passwords: checked until the throttle refuses them unchecked
        took, status = attempt("not the password")
        (refused if status == 429 else wrong).append(took)
    print("sign-in, in process (p50 / p95):")
    print(f"  right password (argon2id)            {_ms(right)}")
    print(f"  wrong password, checked              {_ms(wrong)}  ({len(wrong)} before the throttle refused)")
    print(f"  refused while locked, no hash work   {_ms(refused)}  (x{np.median(refused) / np.median(wrong):.3f} of a checked one)")

    from chorus.web import signin

    signin.unlock(study, "ann", by="benchmark")
    csrf = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text).group(1)
    client.post("/login", data={"name": "ann", "password": PASSWORD, "csrf": csrf})
    server_side = KeptSessions(study, "", secure=False)
    signed_only = Sessions(study.folder, "", secure=False)  # what a study's session was before the server kept them
    cookie = client.cookies.get(server_side.cookie)

    def request(value: str) -> Request:
        return Request({"type": "http", "method": "GET", "path": "/", "headers": [(b"cookie", f"{server_side.cookie}={value}".encode())]})

    from starlette.responses import Response

    made = Response()
    signed_only.write(made, {"uid": 1, "csrf": "x"})
    signed_cookie = made.headers["set-cookie"].split(";")[0].split("=", 1)[1]
    reads = {"server-side session": (server_side, request(cookie)), "signed cookie alone": (signed_only, request(signed_cookie))}
    timed = {}
    for name, (sessions, sent) in reads.items():
        assert sessions.read(sent).get("uid"), name
        took = []
        for _ in range(2000):
            started = time.perf_counter()
            sessions.read(sent)
            took.append(time.perf_counter() - started)
        timed[name] = took
    page = []
    for _ in range(200):
        started = time.perf_counter()
        client.get("/rounds").raise_for_status()
        page.append(time.perf_counter() - started)
    print("the session check on each request (p50 / p95):")
    for name, took in timed.items():
        print(f"  {name:<35}  {_ms(took)}")
    print(f"  a whole page request (/rounds)       {_ms(page)}  (the check: {np.median(timed['server-side session']) / np.median(page):.0%} of it)")


def big_store(folder: Path, codings: int) -> None:
    """Backup, verify and restore a store of ``codings`` codings, beside copying its file."""
    started = time.perf_counter()
    build_synthetic(folder / "synthetic", 1000, codings)
    print(f"built a store of {codings:,} codings in {time.perf_counter() - started:.0f} s")
    study = chorus.open(folder / "synthetic")
    store = Path(study.url.removeprefix("sqlite:///"))
    started = time.perf_counter()
    shutil.copyfile(store, folder / "copy.sqlite")
    copied = time.perf_counter() - started
    started = time.perf_counter()
    verdict = audit.verify(study)
    verified = time.perf_counter() - started
    started = time.perf_counter()
    backup(study, folder / "backup")
    backed_up = time.perf_counter() - started
    study.close()
    started = time.perf_counter()
    restore(folder / "backup", folder / "restored")
    restored = time.perf_counter() - started
    size = store.stat().st_size / 2**20
    print(f"a store of {codings:,} codings ({size:,.0f} MiB, {verdict.entries:,} audit entries; intact: {verdict.intact}):")
    print(f"  copying its file (the floor)         {copied:.1f} s")
    print(f"  chorus log --verify                  {verified:.2f} s")
    print(f"  chorus backup, proven                {backed_up:.1f} s  (x{backed_up / copied:.1f} the copy)")
    print(f"  chorus restore, checked              {restored:.1f} s  (x{restored / copied:.1f} the copy)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--codings", type=int, default=1_000_000)
    parser.add_argument("--tries", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        sign_in_and_sessions(Path(tmp) / "signin", args.tries)
        big_store(Path(tmp), args.codings)


if __name__ == "__main__":
    main()
