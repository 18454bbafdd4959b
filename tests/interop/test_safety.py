"""Hostile QDPX files: zip slip, zip bombs, XML entities, huge attributes, truncation; the store never changes."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import chorus
from chorus.errors import ChorusError, InputError
from chorus.interop import Limits, import_qdc, import_qdpx
from tests.helpers import load_demo, snapshot, unchanged
from tests.interop import tiny

MAPPING = {"Profession": "discipline"}


@pytest.fixture
def loaded(study):
    """A study with something in it to lose."""
    return load_demo(study, transcripts=["FG01"])


def refuse(study, path: Path, match: str, **options) -> None:
    with unchanged(study), pytest.raises(InputError, match=match) as caught:
        import_qdpx(study, path, variables=MAPPING, **options)
    assert str(path) in str(caught.value)


@pytest.mark.parametrize("member", ["../../evil.txt", "/etc/cron.d/evil", "C:/Windows/evil.txt", "sources/../../evil.txt"])
def test_zip_slip_is_refused(loaded, tmp_path: Path, member: str):
    path = tiny.write(tmp_path, members={member: b"owned"})
    refuse(loaded, path, "outside the project")
    assert not (tmp_path.parent / "evil.txt").exists()


def test_a_zip_bomb_is_refused_by_ratio(loaded, tmp_path: Path):
    path = tiny.write(tmp_path, members={f"sources/{tiny.g('fg01')}.txt": b"\0" * (64 * 1024 * 1024)})
    refuse(loaded, path, "zip bomb")


def test_members_and_totals_are_bounded(loaded, tmp_path: Path):
    path = tiny.write(tmp_path)
    refuse(loaded, path, "zip bomb", limits=Limits(member_bytes=1000))
    refuse(loaded, path, "in all", limits=Limits(total_bytes=2000))


def test_billion_laughs_is_refused(loaded, tmp_path: Path):
    bomb = '<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>\n<Project xmlns="urn:QDA-XML:project:1.0" name="&lol2;"/>'
    refuse(loaded, tiny.write(tmp_path, bomb), "unsafe XML")


def test_external_entities_are_refused(loaded, tmp_path: Path):
    xxe = '<?xml version="1.0"?>\n<!DOCTYPE p [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n<Project xmlns="urn:QDA-XML:project:1.0" name="&x;"/>'
    refuse(loaded, tiny.write(tmp_path, xxe), "unsafe XML")


def test_huge_attributes_are_refused(loaded, tmp_path: Path):
    xml = tiny.project_xml().replace('name="tiny"', f'name="{"x" * 5000}"')
    refuse(loaded, tiny.write(tmp_path, xml), "5,000 characters", limits=Limits(attribute_chars=4096))


def test_a_truncated_archive_is_refused(loaded, tmp_path: Path):
    path = tiny.write(tmp_path)
    path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])
    refuse(loaded, path, "truncated")


def test_truncated_xml_names_the_line(loaded, tmp_path: Path):
    xml = tiny.project_xml()
    refuse(loaded, tiny.write(tmp_path, xml[: len(xml) * 2 // 3]), "line \\d+, column \\d+")


def test_source_paths_may_not_leave_the_sources_folder(loaded, tmp_path: Path):
    xml = tiny.project_xml().replace(f'plainTextPath="internal://{tiny.g("fg01")}.txt"', 'plainTextPath="../../../etc/passwd"')
    refuse(loaded, tiny.write(tmp_path, xml), "points outside")


def test_relative_sources_inside_the_folder_are_read(study, tmp_path: Path):
    (tmp_path / "texts").mkdir()
    (tmp_path / "texts" / "fg01.txt").write_text(tiny.TEXT, encoding="utf-8", newline="")
    xml = tiny.project_xml().replace(f'plainTextPath="internal://{tiny.g("fg01")}.txt"', 'plainTextPath="texts/fg01.txt"')
    report = import_qdpx(study, tiny.write(tmp_path, xml, members={f"sources/{tiny.g('fg01')}.txt": b""}), variables=MAPPING)
    assert report.codings == 2


def test_a_qdc_that_is_not_a_codebook_is_refused(study, tmp_path: Path):
    path = tmp_path / "x.qdc"
    path.write_text('<?xml version="1.0"?><Project xmlns="urn:QDA-XML:project:1.0"/>', encoding="utf-8")
    with unchanged(study), pytest.raises(InputError, match="not <CodeBook>"):
        import_qdc(study, path)


_SEED = tiny.project_xml().encode("utf-8")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    cuts=st.lists(st.tuples(st.integers(0, len(_SEED) - 1), st.integers(0, 40), st.binary(max_size=12)), min_size=1, max_size=4)
)
def test_fuzzed_projects_import_or_fail_cleanly(tmp_path_factory: pytest.TempPathFactory, cuts):
    """Mangled bytes in project.qde: either a clean import or a ChorusError, and then nothing stored."""
    folder = tmp_path_factory.mktemp("fuzz")
    data = bytearray(_SEED)
    for at, length, replacement in cuts:
        data[at : at + length] = replacement
    path = tiny.write(folder, members={"project.qde": bytes(data)})
    study = chorus.init(folder / "study")
    before = snapshot(study)
    try:
        import_qdpx(study, path, variables=MAPPING)
    except ChorusError:
        assert snapshot(study) == before
    finally:
        study.close()


def test_the_fuzz_seed_itself_imports(tmp_path: Path):
    study = chorus.init(tmp_path / "study")
    assert import_qdpx(study, tiny.write(tmp_path, _SEED.decode()), variables=MAPPING).codings == 2
    study.close()

