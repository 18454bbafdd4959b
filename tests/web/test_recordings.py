"""Recordings in the browser: uploaded, transcribed as jobs by the server's workers, speakers named, bad files refused."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from chorus.audio import jobs
from chorus.study import jobs as queue
from chorus.study.models import Transcript, Turn
from tests.audio.conftest import conversation, roster_study  # noqa: F401 - the spoken exchange, a fixture
from tests.helpers import imported, unchanged

imported("fastapi", "pip install 'chorus-qda[web]'")

from chorus.web import users  # noqa: E402
from tests.web.conftest import AUDIO, PASSWORD, signed_in  # noqa: E402

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


@pytest.fixture
def recorded(study, tmp_path):
    roster_study(study, tmp_path)
    for name, role in [("olive", "owner"), ("cora", "coder")]:
        users.add_user(study, name, PASSWORD, role)
    return study


def transcripts(study) -> int:
    with study.reading() as session:
        return session.scalar(select(func.count()).select_from(Transcript))


def test_an_uploaded_recording_is_heard_by_a_worker_and_stored_with_the_names_chosen(recorded, conversation):
    client, csrf = signed_in(recorded, "olive")
    wav = conversation.path.read_bytes()
    made = client.post("/api/recordings", files=[("files", ("FG01.wav", wav, "audio/wav")), ("files", ("FG02.wav", wav, "audio/wav"))],
                       headers={"X-CSRF-Token": csrf})
    assert made.status_code == 201 and len(made.json()["jobs"]) == 2  # two at once
    assert [j["state"] for j in client.get("/api/jobs").json()] == ["queued", "queued"]
    first = min(made.json()["jobs"])
    assert jobs.run_next(recorded, "test:1") == first  # what a worker process of chorus serve does
    shown = {j["id"]: j for j in client.get("/api/jobs").json()}
    assert shown[first]["state"] == "naming" and transcripts(recorded) == 0
    page = client.get(f"/jobs/{first}/speakers")
    assert page.status_code == 200
    speakers = re.findall(r'name="speaker-(S\d+)"', page.text)
    assert len(speakers) == 4 and "Nina (nurse)" in page.text and 'id="no-people"' not in page.text
    assert client.get(f"/jobs/{first}/audio").headers["content-type"].startswith("audio/")
    names = {f"speaker-{s}": who for s, who in zip(speakers, ["F1", "P01", "P02", ""])}  # the last left unidentified
    stored = client.post(f"/jobs/{first}/speakers", headers={"X-CSRF-Token": csrf}, data=names)
    assert stored.status_code == 303 and stored.headers["location"] == "/transcripts/FG01"
    with recorded.reading() as session:
        keys = {t.participant.key for t in session.scalars(select(Turn).join(Transcript).where(Transcript.name == "FG01"))}
    assert {"F1", "P01", "P02"} <= keys
    assert {j["id"]: j["state"] for j in client.get("/api/jobs").json()}[first] == "done"
    second = max(made.json()["jobs"])
    assert client.post(f"/api/jobs/{second}/cancel", headers={"X-CSRF-Token": csrf}).json() == {"state": "cancelled"}
    assert jobs.run_next(recorded, "test:1") is None and transcripts(recorded) == 1
    assert sorted(p.name for p in (recorded.folder / "recordings").iterdir()) == ["FG01.wav"]
    assert client.post(f"/api/jobs/{first}/cancel", headers={"X-CSRF-Token": csrf}).status_code == 400  # done: nothing to cancel
    for missing in (client.get(f"/jobs/{second + 1}/speakers"), client.get(f"/jobs/{second + 1}/audio"), client.post(f"/jobs/{second + 1}/speakers", headers={"X-CSRF-Token": csrf}, data=names),
                    client.post(f"/api/jobs/{second + 1}/cancel", headers={"X-CSRF-Token": csrf})):
        assert missing.status_code == 404 and missing.json() == {"error": f"there is no job {second + 1}"}


def test_bad_recordings_get_a_message_and_leave_nothing(recorded, monkeypatch):
    client, csrf = signed_in(recorded, "olive")
    with unchanged(recorded):
        junk = client.post("/api/recordings", files={"files": ("FG01.wav", b"RIFF\x00\x00\x00\x00WAVE junk", "audio/wav")}, headers={"X-CSRF-Token": csrf})
        assert junk.status_code == 400 and junk.json()["error"].startswith("FG01.wav: cannot be read as audio")
        empty = client.post("/api/recordings", files={"files": ("FG01.m4a", b"", "audio/mp4")}, headers={"X-CSRF-Token": csrf})
        assert empty.status_code == 400 and "empty" in empty.json()["error"]
        cut = client.post("/api/recordings", files={"files": ("FG01.wav", AUDIO.read_bytes()[:40], "audio/wav")}, headers={"X-CSRF-Token": csrf})
        assert cut.status_code == 400 and cut.json()["error"].startswith("FG01.wav: cannot be read as audio")  # truncated in its header
        notes = client.post("/api/recordings", files={"files": ("notes.txt", b"hello", "text/plain")}, headers={"X-CSRF-Token": csrf})
        assert notes.status_code == 400 and "recordings are .wav" in notes.json()["error"]
    assert client.post("/recordings/limit", headers={"X-CSRF-Token": csrf}, data={"mib": "1"}).status_code == 303  # the owner lowers the limit to 1 MiB
    with unchanged(recorded):
        big = client.post("/api/recordings", files={"files": ("FG01.wav", b"x" * (2 * 2**20), "audio/wav")}, headers={"X-CSRF-Token": csrf})
        assert big.status_code == 413 and "limited to 1 MiB" in big.json()["error"]
    assert client.post("/recordings/limit", headers={"X-CSRF-Token": csrf}, data={"mib": "8192"}).status_code == 303
    assert 'value="8192"' in client.get("/recordings").text
    assert not list((recorded.folder / "recordings").glob("*")) if (recorded.folder / "recordings").exists() else True


def test_coders_see_the_jobs_but_cannot_upload_or_cancel(recorded, conversation):
    coder, csrf = signed_in(recorded, "cora")
    assert coder.get("/recordings").status_code == 200 and "Upload and transcribe" not in coder.get("/recordings").text
    with unchanged(recorded):
        refused = coder.post("/api/recordings", files={"files": ("FG01.wav", conversation.path.read_bytes(), "audio/wav")}, headers={"X-CSRF-Token": csrf})
    assert refused.status_code == 403


def _serve(folder: Path, port: int) -> subprocess.Popen:
    return subprocess.Popen(
        [str(Path(sys.executable).parent / "chorus"), "--study", str(folder), "serve", "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )


def _wait(check, seconds: float = 120.0):
    until = time.monotonic() + seconds
    while time.monotonic() < until:
        found = check()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError("waited in vain")


def test_a_job_survives_the_server_killed_mid_transcription(recorded, conversation):
    import httpx

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    long = recorded.folder / "long.wav"  # the exchange three times over, so there is time to kill it mid-way
    subprocess.run(["sox", str(conversation.path), str(conversation.path), str(conversation.path), str(long)], check=True) if shutil.which("sox") else shutil.copy(conversation.path, long)
    server = _serve(recorded.folder, port)
    try:
        client = httpx.Client(base_url=base, timeout=30)
        _wait(lambda: _answers(client))
        page = client.get("/login")
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
        client.post("/login", data={"name": "olive", "password": PASSWORD, "csrf": csrf})
        token = re.search(r'const csrf = "([^"]+)"', client.get("/recordings").text).group(1)
        made = client.post("/api/recordings", files={"files": ("FG01.wav", long.read_bytes(), "audio/wav")}, headers={"X-CSRF-Token": token})
        assert made.status_code == 201, made.text
        _wait(lambda: any(j["state"] == "running" and j["fraction"] > 0 for j in client.get("/api/jobs").json()))
        os.killpg(server.pid, signal.SIGKILL)  # the server and its workers, mid-job
        server.wait(timeout=30)
        assert [j["state"] for j in queue.jobs(recorded)] == ["running"] and transcripts(recorded) == 0
        server = _serve(recorded.folder, port)
        _wait(lambda: _answers(client))
        job = _wait(lambda: next((j for j in client.get("/api/jobs").json() if j["state"] == "naming"), None), seconds=300)
        speakers = re.findall(r'name="speaker-(S\d+)"', client.get(f"/jobs/{job['id']}/speakers").text)
        stored = client.post(f"/jobs/{job['id']}/speakers", headers={"X-CSRF-Token": token}, data={f"speaker-{s}": "" for s in speakers})
        assert stored.status_code == 303
        assert transcripts(recorded) == 1 and [j["state"] for j in queue.jobs(recorded)] == ["done"]
    finally:
        try:
            os.killpg(server.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        server.wait(timeout=30)


def _answers(client) -> bool:
    import httpx

    try:
        return client.get("/healthz").status_code == 200
    except httpx.HTTPError:
        return False


def test_two_uploads_at_once_of_files_with_one_name_become_two_jobs(recorded, conversation):
    from concurrent.futures import ThreadPoolExecutor

    clients = [signed_in(recorded, "olive") for _ in range(2)]
    wav = conversation.path.read_bytes()

    def upload(client_and_token):
        client, csrf = client_and_token
        return client.post("/api/recordings", files={"files": ("FG01.wav", wav, "audio/wav")}, headers={"X-CSRF-Token": csrf})

    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(upload, clients))
    assert [a.status_code for a in answers] == [201, 201]
    assert sorted(p.name for p in (recorded.folder / "recordings").iterdir()) == ["FG01-2.wav", "FG01.wav"]
    assert [j["state"] for j in queue.jobs(recorded)] == ["queued", "queued"]
    assert all((recorded.folder / "recordings" / name).read_bytes() == wav for name in ("FG01.wav", "FG01-2.wav"))


def test_voice_clips_make_the_speaker_page_propose_names(recorded, conversation, tmp_path):
    from chorus.audio.synthetic import FOCUS_GROUP, VOICES, speak

    client, csrf = signed_in(recorded, "olive")
    voices = dict(zip(("Facilitator", "Nurse", "Physician", "Social worker"), VOICES))  # as the exchange was spoken
    clips = []
    for who, name in (("Nurse", "Nina"), ("Physician", "P02")):
        lines = [(who, said) for speaker, said in FOCUS_GROUP if speaker == who]
        clips.append(("files", (f"{name}.wav", speak(lines, tmp_path / f"{name}.wav", voices).path.read_bytes(), "audio/wav")))
    made = client.post("/api/enrolment", files=clips, headers={"X-CSRF-Token": csrf})
    assert made.status_code == 201 and made.json() == {"clips": ["P01", "P02"]}
    stranger = client.post("/api/enrolment", files={"files": ("Zed.wav", b"RIFF", "audio/wav")}, headers={"X-CSRF-Token": csrf})
    assert stranger.status_code == 400 and "name the clip after the person" in stranger.json()["error"]
    assert "clips of P01, P02" in client.get("/recordings").text
    job = client.post("/api/recordings", files={"files": ("FG01.wav", conversation.path.read_bytes(), "audio/wav")}, headers={"X-CSRF-Token": csrf}).json()["jobs"][0]
    jobs.run_next(recorded, "test:1")
    page = client.get(f"/jobs/{job}/speakers").text
    proposed = dict(re.findall(r'<option value="(P0\d)" selected>.*?</option>.*?proposed: (voice [\d.]+)', page, re.S))
    assert set(proposed) == {"P01", "P02"}, page


def test_a_recording_makes_its_new_group_and_naming_says_why_nobody_is_offered(recorded, conversation):
    from chorus.study.models import Group

    client, csrf = signed_in(recorded, "olive")
    wav = conversation.path.read_bytes()
    both = client.post("/api/recordings", files={"files": ("talk.wav", wav, "audio/wav")}, data={"group": "FG01", "new_group": "FG09"},
                       headers={"X-CSRF-Token": csrf})
    assert both.status_code == 400 and "not both" in both.json()["error"]
    taken = client.post("/api/recordings", files={"files": ("talk.wav", wav, "audio/wav")}, data={"new_group": "FG01"}, headers={"X-CSRF-Token": csrf})
    assert taken.status_code == 400 and "there is a group 'FG01' already" in taken.json()["error"]
    made = client.post("/api/recordings", files={"files": ("talk.wav", wav, "audio/wav")}, data={"new_group": " FG09 "}, headers={"X-CSRF-Token": csrf})
    assert made.status_code == 201
    with recorded.reading() as session:
        assert session.scalar(select(Group).where(Group.name == "FG09")).members == []
    assert "<option>FG09</option>" in client.get("/recordings").text
    [job] = made.json()["jobs"]
    assert jobs.run_next(recorded, "test:1") == job
    page = client.get(f"/jobs/{job}/speakers").text
    assert 'id="no-people"' in page and "Nobody on the roster is in group FG09 yet" in page and 'href="/roster"' in page
