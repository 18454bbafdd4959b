"""A folder of recordings: progress, resumable after a crash, and the same on a two-worker Dask cluster."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import select
from threadpoolctl import threadpool_limits

from chorus.audio import batch
from chorus.audio.speakers import read_mapping
from chorus.errors import ChorusError
from chorus.study.models import Transcript
from tests.audio.conftest import dask_cluster, roster_study


@pytest.fixture
def folder(tmp_path, conversation):
    """Two recordings named after their groups, and a mapping file naming everyone."""
    recordings = tmp_path / "recordings"
    recordings.mkdir()
    shutil.copy(conversation.path, recordings / "FG01.wav")
    shutil.copy(conversation.path, recordings / "FG02_nurses.wav")
    (recordings / "notes.txt").write_text("not a recording")
    mapping = tmp_path / "speakers.csv"
    mapping.write_text("speaker,participant\nS1,F1\nS2,P01\nS3,P02\nS4,P03\n")
    return recordings


def _stored(study) -> dict[str, list[str]]:
    with study.reading() as session:
        return {t.name: [turn.participant.key for turn in t.turns] for t in session.scalars(select(Transcript).order_by(Transcript.name))}


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_crash_mid_folder_keeps_finished_transcripts_and_a_rerun_goes_on(study, tmp_path, folder, monkeypatch) -> None:
    roster_study(study, tmp_path)
    todo, done = batch.plan(study, [folder])
    assert [(j.name, j.group, j.speakers, j.facilitator) for j in todo] == [
        ("FG01", "FG01", (4, 4), "F1"), ("FG02_nurses", "FG02", (4, 4), "F1")
    ]
    real_hear = batch.hear
    seen: list[tuple[str, str]] = []

    def crash_on_second(job, options, progress=None):
        if job.name == "FG02_nurses":
            raise KeyboardInterrupt  # Ctrl-C while the second recording is being transcribed
        return real_hear(job, options, lambda j, stage, f: seen.append((j.name, stage)))

    monkeypatch.setattr(batch, "hear", crash_on_second)
    with pytest.raises(KeyboardInterrupt):
        batch.transcribe_recordings(study, todo, mappings=lambda job: read_mapping(tmp_path / "speakers.csv"))
    assert list(_stored(study)) == ["FG01"]
    assert ("FG01", "recognising") in seen and ("FG01", "diarizing") in seen
    monkeypatch.setattr(batch, "hear", real_hear)
    todo, done = batch.plan(study, [folder])
    assert [j.name for j in done] == ["FG01"] and [j.name for j in todo] == ["FG02_nurses"]
    stored = batch.transcribe_recordings(study, todo, mappings=lambda job: read_mapping(tmp_path / "speakers.csv"))
    assert [s.status for s in stored] == ["added"]
    assert _stored(study)["FG02_nurses"] == _stored(study)["FG01"]


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_two_worker_dask_cluster_gives_what_the_local_run_gives(study, make_study, tmp_path, folder, monkeypatch) -> None:
    roster_study(study, tmp_path)
    local = make_study("local")
    roster_study(local, tmp_path)
    with dask_cluster(2) as cluster:
        monkeypatch.chdir(tmp_path)  # after the workers started elsewhere: the folder is named as a user types it, relative
        todo, _ = batch.plan(study, [Path("recordings")])
        on_cluster = batch.transcribe_recordings(study, todo, cluster=cluster.scheduler_address)
    assert sorted(s.name for s in on_cluster) == ["FG01", "FG02_nurses"]
    # BLAS held to one thread, as Dask holds each worker's: on some CPUs (this AVX2 one) the BLAS thread count
    # changes the last bits of the speech features, and so a word heard ("barrier" or "merrier")
    with threadpool_limits(limits=1):
        here = batch.transcribe_recordings(local, batch.plan(local, [folder])[0])
    assert [s.name for s in here] == ["FG01", "FG02_nurses"]
    with study.reading() as a, local.reading() as b:
        texts = {t.name: t.text for t in a.scalars(select(Transcript))}
        assert texts == {t.name: t.text for t in b.scalars(select(Transcript))}
    # unnamed speakers stay marked: no mapping was given
    assert all(key.startswith("FG0") for keys in _stored(study).values() for key in keys if key not in {"F1"})


def test_bad_folders_and_names_are_explained(study, tmp_path, folder) -> None:
    roster_study(study, tmp_path)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ChorusError, match="no recordings"):
        batch.plan(study, [tmp_path / "empty"])
    with pytest.raises(ChorusError, match="--name is for one recording"):
        batch.plan(study, [folder], name="x")
    (folder / "Interview_7.wav").write_bytes((folder / "FG01.wav").read_bytes())
    with pytest.raises(ChorusError, match=r"Interview_7\.wav: cannot tell which group"):
        batch.plan(study, [folder])
