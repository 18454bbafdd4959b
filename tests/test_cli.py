"""The chorus command: the demo end to end, and bad input ending with exit status 2 and one line."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import chorus
from chorus.analysis import Rule, segments
from tests.helpers import DEMO, ROOT

BIN = Path(sys.executable).parent


def run(*args: str, cwd: Path, check: bool = True) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", "COLUMNS": "200"}
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, check=check, timeout=600)


@pytest.fixture(scope="module")
def demo_study(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("demo") / "pc-study"
    run("bash", str(ROOT / "examples" / "demo.sh"), str(folder), cwd=ROOT)
    return folder


def test_demo_ends_with_a_report_whose_themes_follow_the_rule(demo_study: Path):
    from docx import Document

    draft = Document(str(demo_study / "findings.docx"))  # make demo writes the manuscript draft too
    assert [c.text for c in draft.tables[0].rows[0].cells][0] == "Characteristic" and len(draft.tables) == 5
    # Table 3, the guide question by question, and Table 4, how each theme was held: the demo has a guide and stances
    assert [c.text for c in draft.tables[2].rows[0].cells] == ["Question", "Answered by", "Codes (turns)"] and len(draft.tables[2].rows) == 11
    held = {r.cells[0].text: r.cells[2].text for r in draft.tables[3].rows[1:]}
    assert held["Benefits/Early integration"] == "1", "the dissent coded by hand in FG06 makes early integration contested there"
    html = (demo_study / "findings.html").read_text()
    study = chorus.open(demo_study)
    rule = Rule()
    sizes = {"APP": 8, "nurse": 10, "physician": 9, "psychosocial clinician": 10}
    seed = ["Early integration", "Normalizing palliative care", "Collaboration", "Communication",
            "Funding", "Medical opposition", "Unclear interdisciplinary roles"]
    for theme in seed:
        found = segments(study, code=theme)
        raised = []
        for discipline, size in sizes.items():
            mine = found[found["discipline"] == discipline]
            share = mine["speaker"].nunique() / size
            if rule.holds(mine["group"].nunique(), share):
                raised.append((-share, discipline))
        label = f"{theme} ({', '.join(d + 's' for _, d in sorted(raised))})"
        assert label in html, label
    study.close()
    # the AI's evaluation clusters ten times: each code found by a share of the ten clusterings, said on screen too
    scored = pd.read_csv(demo_study / "ai-evaluation.csv")
    assert set(scored.embedder) == {"minilm", "glove"} and ((scored.found * 10).round(6) % 1 == 0).all()
    assert re.search(r"Clustered 10 times \(seeds 0 to 9\): minilm found [\d.]+ of 10 codes", " ".join((demo_study / "demo-log.txt").read_text().split()))


def test_demo_matrix_sums_agree_with_the_codings_in_the_store(demo_study: Path):
    study = chorus.open(demo_study)
    saved = pd.read_csv(demo_study / "matrix_participants.csv").set_index("code")
    everything = segments(study)
    found = everything[~everything.code.str.startswith("Stance/")]  # the demo codes stances after it saves the matrix
    speakers = found.groupby(["code", "discipline"])["speaker"].nunique()
    for (code, discipline), number in speakers.items():
        assert saved.at[code, discipline] == number
    assert int(saved.to_numpy().sum()) == int(speakers.sum())  # and no other cell holds anything
    segments_csv = demo_study / "segments.csv"
    run("chorus", "matrix", "--count", "segments", "--out", str(segments_csv), cwd=demo_study)
    assert int(pd.read_csv(segments_csv).set_index("code").to_numpy().sum()) == len(everything)
    study.close()


def test_commands_work_from_another_folder_with_study_option(demo_study: Path, tmp_path: Path):
    out = run("chorus", "--study", str(demo_study), "segments", "--code", "Collaboration", "--discipline", "nurse", cwd=tmp_path)
    assert "Collaboration" in out.stdout and "nurse" in out.stdout
    out = run("chorus", "--study", str(demo_study), "query", "Funding AND Communication", cwd=tmp_path)
    assert "Turns matching" in out.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["code", "FG01", "--turn", "999", "--code", "Funding"], "there is no turn 999"),
        (["code", "FG01", "--turn", "3", "--code", "Fundng"], "no code 'Fundng'"),
        (["matrix", "--by", "shoe_size"], "cannot split by 'shoe_size'"),
        (["roster", "import", str(DEMO / "codebook.csv")], "no id given"),
        # the way out is named as the command's option, not as the library's parameter
        (["themes", "--min-share", "2"], "--min-share is a fraction between 0 and 1"),
        # a bad argument is an error, not every model "skipped"
        (["suggest", "evaluate", "--clusterings", "0"], "cluster at least once (--clusterings 1 or more)"),
        # a folder where a file was meant: the path and why, from the library or from the system, never a traceback
        (["export", "."], ". is a folder; name the file to write, e.g. study.qdpx"),
        (["audio", "evaluate", ".", "--reference", "."], "error: .: Is a directory"),
    ],
)
def test_bad_input_exits_2_with_one_line(demo_study: Path, args: list[str], message: str):
    result = run("chorus", *args, cwd=demo_study, check=False)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0]


def test_a_turn_or_number_past_what_the_store_holds_is_a_usage_error_not_a_traceback(demo_study: Path):
    for args in (["code", "FG01", "--turn", str(2**31), "--code", "Funding"], ["accept", str(2**64)], ["memo", "add", "x", "--coding", str(2**31)]):
        result = run("chorus", *args, cwd=demo_study, check=False)
        assert result.returncode == 2 and "less than or equal to 2147483647" in result.stderr and "Traceback" not in result.stderr, args


def test_a_fully_coded_study_is_told_the_option_that_clusters_coded_segments(demo_study: Path, tmp_path: Path):
    study = tmp_path / "coded"
    shutil.copytree(demo_study, study)
    run("chorus", "autocode", "--code", "Funding", "--pattern", ".", "--scope", "turn", "--coder", "everything", cwd=study)
    result = run("chorus", "suggest", "codes", cwd=study, check=False)
    assert result.returncode == 2
    assert result.stderr.strip() == "error: no uncoded segments left; cluster the coded ones too with --include-coded"


def test_help_speaks_the_researchers_language():
    out = run("chorus", "--help", cwd=ROOT).stdout
    for word in ("roster", "transcripts", "codebook", "autocode", "segments", "matrix", "themes", "report"):
        assert word in out


def test_export_and_import_a_refi_qda_project_and_codebook(demo_study: Path, tmp_path: Path):
    run("chorus", "export", str(tmp_path / "pc.qdpx"), cwd=demo_study)
    run("chorus", "codebook", "export", str(tmp_path / "pc.qdc"), cwd=demo_study)
    run("chorus", "init", str(tmp_path / "copy"), cwd=tmp_path)
    out = run("chorus", "import", str(tmp_path / "pc.qdpx"), cwd=tmp_path / "copy").stdout
    # the eight written transcripts, and the pilot recording the demo transcribes
    assert "9 transcripts" in out and "17 codes" in out  # the codebook's 12 and the Stance family's 5
    before = run("chorus", "matrix", "--count", "participants", cwd=demo_study).stdout
    after = run("chorus", "matrix", "--count", "participants", cwd=tmp_path / "copy").stdout
    assert before == after
    run("chorus", "init", str(tmp_path / "codes"), cwd=tmp_path)
    assert "17 codes" in run("chorus", "codebook", "import", str(tmp_path / "pc.qdc"), cwd=tmp_path / "codes").stdout


def test_importing_a_broken_project_exits_2_naming_the_file(demo_study: Path, tmp_path: Path):
    broken = tmp_path / "broken.qdpx"
    broken.write_bytes(b"PK\x03\x04 not really a zip")
    result = run("chorus", "import", str(broken), cwd=demo_study, check=False)
    assert result.returncode == 2 and "broken.qdpx" in result.stderr and "truncated" in result.stderr


def test_rigour_commands_agreement_versions_log_and_deid(demo_study: Path, tmp_path: Path):
    agreement = pd.read_csv(demo_study / "agreement.csv")
    assert list(agreement.columns[:4]) == ["code", "units", "coded", "percent_agreement"] and {"kappa", "alpha"} <= set(agreement.columns)
    assert set(agreement.code) == {"Funding", "Collaboration", "Communication", "Medical opposition", "Early integration", "(all codes)"}
    assert "decision" in pd.read_csv(demo_study / "disagreements.csv").columns
    spaced = run("chorus", "agreement", "--coders", "autocoder", "ben", "--unit", "sentence", "--code", "Funding", cwd=demo_study).stdout
    assert "by sentence" in spaced and "Funding" in spaced
    assert "Agreement autocoder / ben" in (demo_study / "findings.html").read_text()
    out = run("chorus", "codebook", "diff", "1", "2", cwd=demo_study).stdout
    assert "Codebook version 1 -> 2" in out
    log = pd.read_csv(demo_study / "audit-log.csv")
    assert {"insert"} <= set(log.action) and {"coding", "transcript", "participant", "code"} <= set(log.entity)
    review = pd.read_csv(demo_study / "deid-review.csv")
    assert list(review.columns)[-1] == "decision"
    result = run("chorus", "deid", "apply", str(demo_study / "deid-review.csv"), "--key", str(tmp_path / "key.json"), cwd=demo_study, check=False)
    assert result.returncode == 2 and "no decision yet" in result.stderr  # nothing is applied unreviewed
    curve = pd.read_csv(demo_study / "saturation.csv")
    assert list(curve.columns[:3]) == ["group", "new_codes", "cumulative_codes"] and list(curve.group) == [f"FG0{n}" for n in range(1, 9)]
    assert curve.cumulative_codes.is_monotonic_increasing and curve.new_codes.sum() == curve.cumulative_codes.iloc[-1]
    talk = pd.read_csv(demo_study / "dynamics.csv")
    assert list(talk.group) == [f"FG0{n}" for n in range(1, 9)] and (talk.heard == talk.participants).all() and talk.gini.between(0, 1).all()
    assert (demo_study / "FG03-turn-taking.svg").read_text().count("<circle") == 5  # four APPs and their facilitator
    assert 'id="dynamics"' in (demo_study / "findings.html").read_text()
    answered = pd.read_csv(demo_study / "responses.csv")
    assert list(answered.question.unique()) == [f"Q{n}" for n in range(1, 11)] and set(answered.discipline) == {"APP", "nurse", "physician", "psychosocial clinician"}
    by_question = pd.read_csv(demo_study / "codes-by-question.csv")
    assert by_question.set_index("code").loc["Challenges/Funding", "Q3"] > 0
    refused = run("chorus", "dynamics", "--group", "FG99", cwd=demo_study, check=False)
    assert refused.returncode == 2 and "no transcribed group called 'FG99'" in refused.stderr
    scores = run("chorus", "deid", "evaluate", str(ROOT / "tests" / "data" / "deid" / "labelled.txt"), cwd=tmp_path).stdout
    assert "names" in scores and "recall" in scores


def test_demo_transcribes_a_spoken_pilot_with_speakers_named_from_the_roster(demo_study: Path):
    vtt = (demo_study / "FG01-pilot.vtt").read_text()
    voices = {line.split(">")[0][3:] for line in vtt.splitlines() if line.startswith("<v ")}
    assert voices == {"Reyes", "Adaeze", "Bernard", "Camila"}  # the facilitator found by the questions asked
    shown = run("chorus", "transcripts", "show", "FG01-pilot", cwd=demo_study).stdout
    assert "palliative" in shown and "physician" in shown
