"""Every importer fuzzed: mangled rosters, groups, transcripts, codebooks and decision files end in a clean
import or a ChorusError, and a failed import leaves the store exactly as it was."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import chorus
from chorus.analysis import consensus, disagreements
from chorus.coding import apply_code
from chorus.errors import ChorusError
from chorus.ingest import import_codebook, import_groups, import_roster, import_transcripts
from chorus.interop import export_qdc, import_qdc
from tests.helpers import DEMO, load_demo, snapshot

CUTS = st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 40), st.binary(max_size=12)), min_size=1, max_size=4)
FUZZ = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def mangled(seed: bytes, cuts: list[tuple[float, int, bytes]]) -> bytes:
    """``seed`` with each cut's bytes (at a place given as a share of its length) replaced."""
    data = bytearray(seed)
    for share, length, replacement in cuts:
        at = int(share * len(data)) if data else 0
        data[at : at + length] = replacement
    return bytes(data)


@pytest.fixture(scope="module")
def seeds(tmp_path_factory) -> dict[str, Path]:
    """Base studies to import into, and the files whose mangled copies are imported."""
    root = tmp_path_factory.mktemp("seeds")
    empty = chorus.init(root / "empty")
    empty.close()
    rostered = chorus.init(root / "rostered")
    import_roster(rostered, DEMO / "roster.csv")
    import_groups(rostered, DEMO / "groups.csv")
    rostered.close()
    coded = load_demo(chorus.init(root / "coded"), transcripts=["FG03"])
    for turn in (2, 3, 5):
        apply_code(coded, "FG03", "Funding", "ann", turn=turn)
    for turn in (2, 4):
        apply_code(coded, "FG03", "Funding", "ben", turn=turn)
    listed = disagreements(coded, ["ann", "ben"]).assign(decision="keep")
    listed.to_csv(root / "decisions.csv", index=False)
    export_qdc(coded, root / "codebook.qdc")
    coded.close()
    pd.read_csv(DEMO / "roster.csv").to_excel(root / "roster.xlsx", index=False)
    pd.read_csv(DEMO / "codebook.csv").to_excel(root / "codebook.xlsx", index=False)
    vtt = (DEMO / "transcripts" / "FG02.vtt").read_text(encoding="utf-8")
    srt = vtt.removeprefix("WEBVTT").strip().replace(".", ",")  # close enough to SubRip for a seed
    (root / "FG02.srt").write_text("1\n" + srt + "\n", encoding="utf-8")
    return {"root": root}


def fuzz(seeds: dict[str, Path], base: str, seed: Path, name: str, cuts, imports: Callable[[chorus.Study, Path], object]) -> None:
    """Import the mangled ``seed`` (as ``name``) into a copy of study ``base``: cleanly, or a ChorusError and nothing stored."""
    folder = Path(tempfile.mkdtemp(dir=seeds["root"]))
    shutil.copytree(seeds["root"] / base, folder / "study")
    path = folder / name
    path.write_bytes(mangled(seed.read_bytes(), cuts))
    study = chorus.open(folder / "study")
    before = snapshot(study)
    try:
        imports(study, path)
    except ChorusError as exc:
        assert snapshot(study) == before, f"a failed import of {name} changed the store: {exc}"
        assert name in str(exc) or str(path) in str(exc) or "decision" in str(exc), f"the error names the file: {exc}"
    finally:
        study.close()
        shutil.rmtree(folder, ignore_errors=True)


@FUZZ
@given(cuts=CUTS, kind=st.sampled_from(["csv", "xlsx"]))
def test_fuzzed_rosters(seeds, cuts, kind):
    seed = DEMO / "roster.csv" if kind == "csv" else seeds["root"] / "roster.xlsx"
    fuzz(seeds, "empty", seed, f"roster.{kind}", cuts, import_roster)


@FUZZ
@given(cuts=CUTS)
def test_fuzzed_groups(seeds, cuts):
    fuzz(seeds, "rostered", DEMO / "groups.csv", "groups.csv", cuts, import_groups)


@FUZZ
@given(cuts=CUTS, seed=st.sampled_from(["FG03.txt", "FG07.md", "FG02.vtt", "FG02.srt", "FG01.docx"]))
def test_fuzzed_transcripts(seeds, cuts, seed):
    path = seeds["root"] / seed if seed.endswith(".srt") else DEMO / "transcripts" / seed
    fuzz(seeds, "rostered", path, seed, cuts, lambda study, p: import_transcripts(study, [p]))


@FUZZ
@given(cuts=CUTS, seed=st.sampled_from(["codebook.csv", "codebook.xlsx", "codebook.qdc"]))
def test_fuzzed_codebooks(seeds, cuts, seed):
    path = DEMO / seed if seed == "codebook.csv" else seeds["root"] / seed
    imports = import_qdc if seed.endswith(".qdc") else import_codebook
    fuzz(seeds, "rostered" if seed != "codebook.qdc" else "coded", path, seed, cuts, imports)


@FUZZ
@given(cuts=CUTS)
def test_fuzzed_decision_files(seeds, cuts):
    fuzz(seeds, "coded", seeds["root"] / "decisions.csv", "decisions.csv", cuts,
         lambda study, p: consensus(study, ["ann", "ben"], into="agreed", decisions=p))
