"""The codebook in the browser: an import previewed then stored, bad files refused with nothing stored, versions and their diff."""

from __future__ import annotations

import html
import re

from chorus.coding import codes
from tests.study.test_audit import table_rows
from tests.web.conftest import signed_in


def test_an_owner_previews_a_codebook_then_imports_it_under_their_name(web):
    owner, csrf = signed_in(web, "olive")
    table = b"code,parent,definition\nHope,,Looking forward\nFunding,Challenges,Money talk\n"
    stored = table_rows(web)
    page = owner.post("/codes/check", headers={"X-CSRF-Token": csrf}, files={"codebook_file": ("codebook.csv", table)})
    assert page.status_code == 200 and table_rows(web) == stored, "a preview stores nothing"
    assert "It would add 1 code, and redefine 1 code." in page.text and "1 change overwrites" in page.text
    assert re.search(r"<td>added</td><td>Hope</td>.*<td>Looking forward</td></tr>", page.text), "a new code is shown with its definition"
    assert page.text.count('class="clash"') == 1
    upload = re.search(r'name="upload" value="([0-9a-f]+)"', page.text).group(1)
    done = owner.post("/codes/store", headers={"X-CSRF-Token": csrf}, data={"upload": upload})
    assert done.status_code == 303 and done.headers["location"] == "/codes?imported=codebook.csv"
    book = codes.codebook(web).set_index("path")
    assert book.at["Hope", "definition"] == "Looking forward" and book.at["Challenges/Funding", "definition"] == "Money talk"
    assert owner.post("/codes/store", headers={"X-CSRF-Token": csrf}, data={"upload": upload}).status_code == 400, "an upload is stored once"
    from chorus.study.audit import log

    assert set(log(web, entity="code")["actor"].tail(2)) == {"olive"}


def test_a_category_named_only_as_a_parent_is_previewed_as_a_new_code(web):
    owner, csrf = signed_in(web, "olive")
    table = b"code,parent,definition\nSeen as hospice,Perceptions of the alert,Read as giving up\nSeen as help,Perceptions of the alert,Read as support\n"
    page = owner.post("/codes/check", headers={"X-CSRF-Token": csrf}, files={"codebook_file": ("alert.csv", table)})
    assert page.status_code == 200 and "It would add 3 codes." in page.text
    assert "<td>added</td><td>Perceptions of the alert</td>" in page.text
    assert "<td>added</td><td>Perceptions of the alert/Seen as help</td>" in page.text and "Read as support" in page.text


def test_bad_codebooks_get_a_message_on_the_page_and_store_nothing(web):
    owner, csrf = signed_in(web, "olive")
    stored = table_rows(web)
    for name, content, message in [
        ("book.qdc", b"this is not XML", "book.qdc: not well-formed XML"),
        ("book.csv", b"code,definition\nOrphan,Money, or staff\n", "book.csv, line 2: a filled cell past the header's 2 columns"),
        ("book.csv", b"code,colour\nHope,blue\n", "book.csv"),
    ]:
        page = owner.post("/codes/check", headers={"X-CSRF-Token": csrf}, files={"codebook_file": (name, content)})
        assert page.status_code == 400 and message in html.unescape(page.text), name
        assert re.search(r'role="alert">[^<]+', page.text)
    assert owner.post("/codes/check", headers={"X-CSRF-Token": csrf}, files={"codebook_file": ("book.pdf", b"%PDF")}).status_code == 400
    assert table_rows(web) == stored
    assert not list((web.folder / ".uploads").glob("*")), "refused uploads are not kept"


def test_versions_are_kept_in_the_browser_and_compared(web):
    owner, csrf = signed_in(web, "olive")
    assert owner.post("/codes/versions", headers={"X-CSRF-Token": csrf}, data={"label": "first"}).headers["location"] == "/codes?kept=1"
    owner.post("/api/codes", json={"name": "Hope"}, headers={"X-CSRF-Token": csrf})
    assert owner.post("/codes/versions", headers={"X-CSRF-Token": csrf}, data={"label": "after FG01"}).headers["location"] == "/codes?kept=2"
    viewer, _ = signed_in(web, "vic")
    page = viewer.get("/codes/versions")
    assert "after FG01" in page.text and re.search(r"<td>added</td><td>Hope</td>", page.text)
    assert viewer.get("/codes/versions?old=1&new=9").status_code == 400
