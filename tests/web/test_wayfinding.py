"""The small things that keep a person on their way between pages: counts said in words, hints, the way back, the icon."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from chorus import coding
from chorus.web.app import create_server
from tests.web.conftest import PASSWORD, signed_in


def test_counts_are_said_as_words_are(web):
    client, _ = signed_in(web, "cora")
    coding.apply_code(web, "FG01", "Challenges/Funding", "cora", turn=2)
    page = client.get("/codes").text
    funding = re.search(r'data-path="Challenges/Funding".*?(\d+ codings?)</div>', page, flags=re.S)
    assert funding and funding.group(1) == "1 coding"
    assert "0 codings" in page


def test_a_multi_select_says_how_to_choose_several(web):
    client, _ = signed_in(web, "cora")
    page = client.get("/autocode").text
    assert 'aria-describedby="transcripts-hint"' in page and "Ctrl-click (⌘-click on a Mac) chooses several" in page


def test_a_study_among_several_links_back_to_the_server_s_studies(web, make_study):
    from chorus.web import users

    other = make_study("other")
    users.add_user(other, "olive", PASSWORD, "owner")
    client = TestClient(create_server([web, other]), follow_redirects=False)
    login = client.get("/studies/study/login").text
    csrf = re.search(r'name="csrf" value="([^"]+)"', login).group(1)
    assert client.post("/studies/study/login", data={"name": "olive", "password": PASSWORD, "csrf": csrf}).status_code == 303
    page = client.get("/studies/study/").text
    assert '<a href="/" title="every study on this server">All studies</a>' in page
    assert 'href="/static/favicon.svg"' in client.get("/").text and client.get("/static/favicon.svg").status_code == 200
    alone, _ = signed_in(web, "olive")
    assert "All studies" not in alone.get("/").text, "a study served alone has no list to go back to"
