"""Uploading the roster and groups in the browser: every problem listed and nothing stored, or a preview, then all at once."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from chorus.study import audit
from chorus.study.models import Group, Participant
from tests.helpers import DEMO, imported, unchanged

imported("fastapi", "pip install 'chorus-qda[web]'")

from chorus.web import users  # noqa: E402
from tests.web.conftest import PASSWORD, signed_in  # noqa: E402

BAD = b"id,pseudonym,discipline,group\nP01,Adaeze,physician,FG01\nP02,Bernard,,FG01\nP01,Camila,nurse,FG01\n"


@pytest.fixture
def fresh(study):
    """A study with accounts and nothing else, as a new study made in the browser is."""
    for name, role in [("olive", "owner"), ("cora", "coder")]:
        users.add_user(study, name, PASSWORD, role)
    return study


def test_a_roster_with_two_bad_rows_lists_both_and_stores_nothing(fresh):
    client, csrf = signed_in(fresh, "olive")
    files = {"roster": ("roster.csv", BAD, "text/csv"), "groups": ("groups.csv", (DEMO / "groups.csv").read_bytes(), "text/csv")}
    with unchanged(fresh):
        checked = client.post("/roster/check", headers={"X-CSRF-Token": csrf}, files=files)
    assert checked.status_code == 400
    rows = re.findall(r"<tr><td>(.*?)</td><td>(.*?)</td><td>(.*?)</td><td>(.*?)</td></tr>", checked.text)
    assert [r[:3] for r in rows] == [("roster.csv", "line 3", "discipline"), ("roster.csv", "line 4", "id")]
    assert "nothing was stored" in checked.text
    assert not list((fresh.folder / ".uploads").glob("*"))


def test_clean_tables_are_previewed_then_stored_together_under_the_owner(fresh):
    client, csrf = signed_in(fresh, "olive")
    files = {"roster": ("roster.csv", (DEMO / "roster.csv").read_bytes(), "text/csv"),
             "groups": ("groups.csv", (DEMO / "groups.csv").read_bytes(), "text/csv")}
    with unchanged(fresh):
        checked = client.post("/roster/check", headers={"X-CSRF-Token": csrf}, files=files)
    assert checked.status_code == 200 and "39 people (39 new, 0 updated, 0 unchanged)" in checked.text and "Adaeze" in checked.text
    upload = re.search(r'name="upload" value="([0-9a-f]+)"', checked.text).group(1)
    stored = client.post("/roster/store", headers={"X-CSRF-Token": csrf}, data={"upload": upload})
    assert stored.status_code == 303 and stored.headers["location"] == "/roster?stored=47&unchanged=0"
    with fresh.reading() as session:
        assert session.scalar(select(func.count()).select_from(Participant)) == 39
        assert session.scalar(select(Group.date).where(Group.name == "FG01")).isoformat() == "2024-02-06"
    assert set(audit.log(fresh, entity="participant").actor) == {"olive"}
    page = client.get("/roster").text
    assert "Adaeze" in page
    header = re.findall(r"<th>(.*?)</th>", page.split("<h3", 2)[2].split("</tr>")[0])
    assert header == ["key", "pseudonym", "discipline", "care_team", "role", "profession", "years_in_oncology", "groups", ""], \
        "the roster's own columns first, then its attributes, whoever is on the first row"
    again = client.post("/roster/store", headers={"X-CSRF-Token": csrf}, data={"upload": upload})
    assert again.status_code == 400 and "no longer waiting" in again.json()["error"]
    assert client.post("/roster/store", headers={"X-CSRF-Token": csrf}, data={"upload": "../../etc"}).status_code == 400


def test_a_groups_table_uploads_alone_and_rows_uploaded_again_are_unchanged(fresh):
    client, csrf = signed_in(fresh, "olive")

    def upload(**tables: bytes) -> str:
        files = {kind: (f"{kind}.csv", data, "text/csv") for kind, data in tables.items()}
        checked = client.post("/roster/check", headers={"X-CSRF-Token": csrf}, files=files)
        assert checked.status_code == 200, checked.text
        stored = client.post("/roster/store", headers={"X-CSRF-Token": csrf}, data={"upload": re.search(r'name="upload" value="([0-9a-f]+)"', checked.text).group(1)})
        assert stored.status_code == 303
        return checked.text + client.get(stored.headers["location"]).text

    groups = (DEMO / "groups.csv").read_bytes()
    said = upload(groups=groups)  # no roster: groups come first, people later
    assert "8 groups (8 new, 0 updated, 0 unchanged)" in said and "Stored in one transaction: 8 rows new or changed." in said
    with fresh.reading() as session:
        assert session.scalar(select(func.count()).select_from(Group)) == 8
        assert session.scalar(select(func.count()).select_from(Participant)) == 0
    roster = (DEMO / "roster.csv").read_bytes()
    upload(roster=roster, groups=groups)
    entries = len(audit.log(fresh))
    said = upload(roster=roster, groups=groups)  # the same tables again
    assert "39 people (0 new, 0 updated, 39 unchanged)" in said and "8 groups (0 new, 0 updated, 8 unchanged)" in said
    assert "0 rows new or changed; 47 rows unchanged" in said
    assert len(audit.log(fresh)) == entries, "rows that change nothing are not written again"
    one_changed = roster.replace(b"P02,Bernard,physician", b"P02,Bernard,APP", 1)
    assert one_changed != roster
    assert "39 people (0 new, 1 updated, 38 unchanged)" in upload(roster=one_changed)
    empty = client.post("/roster/check", headers={"X-CSRF-Token": csrf}, files={"roster": ("", b"", "text/csv")})
    assert empty.status_code == 400 and "choose a roster, a groups table or both" in empty.text


def test_only_owners_upload_rosters(fresh):
    coder, csrf = signed_in(fresh, "cora")
    files = {"roster": ("roster.csv", (DEMO / "roster.csv").read_bytes(), "text/csv")}
    with unchanged(fresh):
        assert coder.post("/roster/check", headers={"X-CSRF-Token": csrf}, files=files).status_code == 403
    assert "Upload the roster" not in coder.get("/roster").text


def test_owners_correct_one_person_or_group_in_place(fresh):
    from chorus.ingest import import_roster_and_groups

    import_roster_and_groups(fresh, DEMO / "roster.csv", DEMO / "groups.csv")
    client, csrf = signed_in(fresh, "olive")
    assert 'href="/roster/people/P02"' in client.get("/roster").text
    page = client.get("/roster/people/P02")
    assert page.status_code == 200 and 'value="Bernard"' in page.text
    saved = client.post("/roster/people/P02", headers={"X-CSRF-Token": csrf}, data={"pseudonym": "Bernard", "discipline": "APP", "care_team": "", "role": "participant",
                                                                 "groups": ["FG01", "FG03"]})
    assert saved.status_code == 303
    with fresh.reading() as session:
        bernard = session.scalar(select(Participant).where(Participant.key == "P02"))
        assert (bernard.discipline, sorted(g.name for g in bernard.groups)) == ("APP", ["FG01", "FG03"])
    assert audit.log(fresh, entity="participant").actor.iloc[-1] == "olive"
    with unchanged(fresh):
        refused = client.post("/roster/people/P02", headers={"X-CSRF-Token": csrf}, data={"pseudonym": "Adaeze", "discipline": "APP", "role": "participant"})
    assert refused.status_code == 400 and "already belongs" in refused.text
    assert client.post("/roster/groups/FG01", headers={"X-CSRF-Token": csrf}, data={"date": "2024-02-07"}).status_code == 303
    bad_date = client.post("/roster/groups/FG01", headers={"X-CSRF-Token": csrf}, data={"date": "7 Feb"})
    assert bad_date.status_code == 400 and 'value="7 Feb"' in bad_date.text, "what was typed stays to correct"
    for path in ("/roster/people/P99", "/roster/groups/FG99"):  # what the path names is not there: 404, reading or writing
        assert client.get(path).status_code == 404
        assert client.post(path, headers={"X-CSRF-Token": csrf}, data={"pseudonym": "X", "role": "participant", "date": "2024-02-07"}).status_code == 404
    unknown_group = client.post("/roster/people/P02", headers={"X-CSRF-Token": csrf}, data={"pseudonym": "Bernard", "role": "participant", "groups": ["FG99"]})
    assert unknown_group.status_code == 400, "a name the form sends is the request's fault"
    coder, _ = signed_in(fresh, "cora")
    assert coder.get("/roster/people/P02").status_code == 403
