"""Autocoding in the browser: every match previewed in its context, coded on confirmation as the signed-in coder."""

from __future__ import annotations

import html
import re

from chorus.analysis import segments
from tests.study.test_audit import table_rows
from tests.web.conftest import signed_in


def test_a_coder_previews_matches_in_context_then_codes_them_as_themselves(web):
    coder, csrf = signed_in(web, "cora")
    asked = {"code": "Funding", "keywords": "team, family", "scope": "sentence"}
    stored = table_rows(web)
    page = coder.post("/autocode/preview", headers={"X-CSRF-Token": csrf}, data=asked)
    assert page.status_code == 200 and table_rows(web) == stored
    total = int(re.search(r"(\d+) places? found: (\d+) would be coded", page.text).group(2))
    assert total > 0 and page.text.count("<mark>") == total
    assert re.search(r"<td>FG01</td><td class=\"num\">%d</td>" % total, page.text), "the count per transcript"
    done = coder.post("/autocode", headers={"X-CSRF-Token": csrf}, data=asked)
    assert done.headers["location"] == f"/autocode?coded={total}&code=Funding"
    mine = segments(web, code="Funding", coder="cora")
    assert len(mine) == total
    again = coder.post("/autocode/preview", headers={"X-CSRF-Token": csrf}, data=asked)
    assert f"{total} coded already" in again.text and "Code these" not in again.text


def test_bad_autocoding_gets_a_message_and_stores_nothing(web):
    coder, csrf = signed_in(web, "cora")
    stored = table_rows(web)
    for asked, message in [
        ({"code": "Funding", "keywords": " , ", "scope": "turn"}, "give either a pattern or a keyword list"),
        ({"code": "Funding", "pattern": "fund(", "scope": "turn"}, "not a valid regular expression"),
        ({"code": "Funding", "pattern": "x?", "scope": "turn"}, "matches empty text"),
        ({"code": "No such code", "keywords": "team", "scope": "turn"}, "No such code"),
    ]:
        for route in ("/autocode/preview", "/autocode"):
            page = coder.post(f"{route}", headers={"X-CSRF-Token": csrf}, data=asked)
            assert page.status_code == 400 and message in html.unescape(page.text), (asked, route)
    nothing = coder.post("/autocode/preview", headers={"X-CSRF-Token": csrf}, data={"code": "Funding", "pattern": "zebra crossing", "scope": "turn"})
    assert nothing.status_code == 200 and "No match." in nothing.text and 'id="apply"' not in nothing.text
    assert table_rows(web) == stored
