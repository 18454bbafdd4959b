"""``chorus serve --workers N``: several server processes over one store, any of them answering any request."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from chorus.study.models import Coding, Transcript, Turn
from tests.helpers import imported, require
from tests.web.conftest import PASSWORD, chorus_serve

httpx = imported("httpx", "pip install 'chorus-qda[web]'")
psutil = imported("psutil", "pip install 'chorus-qda[dev]'")


def test_two_worker_processes_share_sessions_tokens_and_the_store(web, capsys):
    with chorus_serve(web.folder, "--workers", "2") as base:
        server = next(p for p in psutil.Process().children() if "serve" in p.cmdline())
        workers = [p for p in server.children(recursive=True) if "python" in p.name().lower() or "chorus" in " ".join(p.cmdline())]
        assert len(workers) >= 2, [p.cmdline() for p in workers]
        # a new connection for every request, so the kernel hands them to either process
        with httpx.Client(base_url=base, limits=httpx.Limits(max_keepalive_connections=0), timeout=30) as client:
            csrf = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text).group(1)
            assert client.post("/login", data={"name": "cora", "password": PASSWORD, "csrf": csrf}).status_code == 303
            token = re.search(r'const csrf = "([^"]+)"', client.get("/codes").text).group(1)
            with web.reading() as session:
                turns = session.execute(select(Turn.start).join(Transcript).where(Transcript.name == "FG01").order_by(Turn.start)).scalars().all()
            made = []
            for start in turns[1:21]:
                response = client.post("/api/codings", json={"transcript": "FG01", "code": "Funding", "start": start, "end": start + 5},
                                       headers={"X-CSRF-Token": token})
                assert response.status_code == 201, response.text
                made.append(response.json()["id"])
                assert client.get("/segments?code=Funding").status_code == 200
            for coding_id in made[:10]:
                assert client.delete(f"/api/codings/{coding_id}", headers={"X-CSRF-Token": token}).status_code == 204
        with web.reading() as session:
            assert session.scalar(select(func.count()).select_from(Coding)) == 10
    assert "2 worker processes" in capsys.readouterr().out


def test_other_machines_get_https_or_nothing(web, tmp_path):
    chorus_command = str(Path(sys.executable).parent / "chorus")
    plain = subprocess.run([chorus_command, "--study", str(web.folder), "serve", "--host", "0.0.0.0"], capture_output=True, text=True, timeout=60)
    assert plain.returncode != 0 and "plain HTTP" in plain.stdout + plain.stderr and "--certfile" in plain.stdout + plain.stderr
    if shutil.which("openssl") is None:
        require("openssl", "apt-get install openssl")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    with chorus_serve(web.folder, "--certfile", str(cert), "--keyfile", str(key), scheme="https") as base:
        page = httpx.get(base + "/login", verify=False, timeout=5)
        assert page.status_code == 200 and page.headers["Strict-Transport-Security"] == "max-age=31536000"
        assert "secure" in page.headers["set-cookie"].lower(), "cookies over HTTPS are Secure"
        with pytest.raises(httpx.HTTPError):
            httpx.get(base.replace("https", "http") + "/login", timeout=2)  # no plain HTTP on that port


def test_a_job_worker_whose_server_is_gone_before_it_starts_stops_at_once(web):
    import json
    import multiprocessing

    from chorus.web.app import job_worker

    gone = subprocess.Popen(["true"])
    gone.wait()  # a server stopped (Ctrl-C, kill) while its workers were still starting
    settings = {"studies": [str(web.folder)], "secure_cookies": False, "keys": None, "cluster": None}
    worker = multiprocessing.get_context("spawn").Process(target=job_worker, args=(json.dumps(settings), gone.pid))
    worker.start()
    worker.join(timeout=60)
    alive = worker.is_alive()
    if alive:
        worker.kill()
    assert not alive and worker.exitcode == 0, "it would have stayed behind, an orphan, forever"
