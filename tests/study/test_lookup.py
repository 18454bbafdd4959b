"""Finding what a coding names: its transcript, code and coder, by the names researchers use."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect, select

from chorus.coding import apply_code
from chorus.errors import NotFound
from chorus.study.lookup import code_path, code_paths, coding_targets
from chorus.study.models import Code, Coder
from tests.helpers import load_demo, statements


def test_a_coding_finds_its_transcript_code_and_coder_in_one_statement(study):
    load_demo(study, transcripts=["FG01"])
    apply_code(study, "FG01", "Funding", "ann", turn=2)  # ann has coded before
    with statements(study) as sent, study.transaction() as session:
        transcript, code, coder = coding_targets(session, "FG01", "Funding", "ann")
        assert (transcript.name, code.name, coder.name) == ("FG01", "Funding", "ann")
        assert "text" in inspect(transcript).unloaded and transcript.length > 1000  # its length counted, its text not read
    assert len([s for s in sent if s.lstrip().upper().startswith("SELECT")]) == 1


def test_what_one_statement_cannot_settle_is_found_name_by_name(study):
    load_demo(study, transcripts=["FG01"])
    with study.transaction() as session:
        by_path = coding_targets(session, "FG01", "Challenges/Funding", "ann")  # a path; ann is new and is added
        assert by_path[1].name == "Funding" and session.get(Coder, by_path[2].id).name == "ann"
        assert coding_targets(session, "FG01", "Funding", "ann")[2].id == by_path[2].id
    with study.transaction() as session, pytest.raises(NotFound, match="no code 'Fundng'.*did you mean 'Challenges/Funding'"):
        coding_targets(session, "FG01", "Fundng", "ann")
    with study.transaction() as session, pytest.raises(NotFound, match="no transcript 'FG1'.*did you mean 'FG01'"):
        coding_targets(session, "FG1", "Funding", "ann")


def test_every_code_s_path_comes_from_one_statement_and_reads_as_each_code_s_own(study):
    load_demo(study, transcripts=[])
    with study.reading() as session:
        codes = session.scalars(select(Code)).all()
        expected = {code.id: code_path(code) for code in codes}
    assert "Challenges/Funding" in expected.values()  # the demo's codebook has codes under parents
    with statements(study) as sent, study.reading() as session:
        assert code_paths(session) == expected
    assert len([s for s in sent if s.lstrip().upper().startswith("SELECT")]) == 1
