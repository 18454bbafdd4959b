"""A spoken focus-group exchange, a small roster for it, and one transcription of it shared by the tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from chorus.audio.synthetic import FOCUS_GROUP, SpokenConversation, missing_tools, speak
from tests.helpers import require

DATA = Path(__file__).resolve().parents[1] / "data" / "audio"
ROSTER = """id,pseudonym,discipline,care_team,group,role
F1,Reyes,,,FG01;FG02,facilitator
P01,Nina,nurse,Leukemia,FG01;FG02,participant
P02,Omar,physician,Leukemia,FG01;FG02,participant
P03,Priya,psychosocial clinician,Leukemia,FG01;FG02,participant
"""
GROUPS = "group,date\nFG01,2024-02-06\nFG02,2024-02-13\n"
# who each voice of the script is on the roster
CAST = {"Facilitator": "F1", "Nurse": "P01", "Physician": "P02", "Social worker": "P03"}
# two voices, the second taking over without a pause or a sentence end: Whisper hears one run-on segment
RUN_ON = (
    ("Nurse", "we talk with the families about comfort and the goals of care early on and not only at the very end of the illness and"),
    ("Physician", "when the palliative team joins us at diagnosis the family trusts them much more later on in the treatment"),
)
# a short interjection between two sentences of another voice, pauses around it; the second voice speaks again later
INTERJECTION = (
    ("Nurse", "We talk with the families about comfort and the goals of care early on, not only at the very end of the illness."),
    ("Physician", "Right."),
    ("Nurse", "And when the palliative team joins us at diagnosis, the family trusts them much more later on."),
    ("Physician", "I agree, and the funding for those positions is the problem we keep coming back to."),
)
PAIR_ROSTER = "id,pseudonym,discipline,care_team,group,role\nP01,Nina,nurse,Leukemia,FG09,participant\nP02,Omar,physician,Leukemia,FG09,participant\n"
PAIR_GROUPS = "group,date\nFG09,2024-03-05\n"


def dask_cluster(workers: int):  # noqa: ANN201 - distributed's LocalCluster, imported only where a test needs it
    """A Dask cluster of ``workers`` processes on this machine, its scheduler's HTTP server on a free loopback port.

    ``dashboard_address=None`` still served it on 8787, and with tests running side by side another
    cluster could hold that port ("Port 8787 is already in use" among the warnings).
    """
    from distributed import LocalCluster

    return LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address="127.0.0.1:0")


def need_voices() -> None:
    if missing := missing_tools():
        require(" and ".join(missing), f"apt-get install {' '.join(missing)} (the spoken test audio)")


@pytest.fixture(scope="session")
def conversation(tmp_path_factory: pytest.TempPathFactory) -> SpokenConversation:
    need_voices()
    return speak(FOCUS_GROUP, tmp_path_factory.mktemp("audio") / "FG01.wav")


@pytest.fixture(scope="session")
def heard(conversation: SpokenConversation):
    from chorus.audio.media import load_audio
    from chorus.audio.transcribe import transcribe_audio

    return transcribe_audio(load_audio(conversation.path), min_speakers=4, max_speakers=4)


def roster_study(study, folder: Path):
    """``study`` with the four-person roster of the spoken exchange, in groups FG01 and FG02."""
    from chorus.ingest import import_groups, import_roster

    (folder / "roster.csv").write_text(ROSTER, encoding="utf-8")
    (folder / "groups.csv").write_text(GROUPS, encoding="utf-8")
    import_roster(study, folder / "roster.csv")
    import_groups(study, folder / "groups.csv")
    return study
