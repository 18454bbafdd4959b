"""Analysis pages: the same figures as the CLI's commands, with their options as fields, and the downloads."""

from __future__ import annotations

import html
import io
import re

import pandas as pd
from sqlalchemy import select

from chorus import analysis
from chorus.coding import apply_code
from chorus.study.models import Transcript
from tests.web.conftest import signed_in


def test_the_theme_rule_is_edited_on_the_page_and_the_report_follows_it(web):
    viewer, _ = signed_in(web, "vic")
    strict = analysis.Rule(5, 0.9, "and")
    page = viewer.get("/themes?min_groups=5&min_share=0.9&combine=and")
    assert f"Rule: {strict}." in html.unescape(page.text)
    link = re.search(r'id="report" href="([^"]+)"', page.text).group(1).replace("&amp;", "&")
    report = viewer.get(link)
    assert report.status_code == 200 and str(strict) in html.unescape(report.text) and "attachment" in report.headers["content-disposition"]
    assert str(analysis.Rule()) not in html.unescape(report.text)
    bad = viewer.get("/themes?min_share=2")
    assert bad.status_code == 400 and "min_share is a fraction between 0 and 1" in bad.text
    assert viewer.get("/report?combine=xor").status_code == 400
    tables = pd.read_excel(io.BytesIO(viewer.get("/report/tables.xlsx?min_groups=5").content), sheet_name=None)
    assert "themes" in tables


def test_the_unit_of_analysis_is_chosen_on_the_themes_page_and_the_themes_it_changes_are_named(web):
    """Funding raised by one physician in one group: counting groups alone (two needed) names no discipline."""
    for turn in (2, 4, 6):
        apply_code(web, "FG01", "Funding", "cora", turn=turn)
    viewer, _ = signed_in(web, "vic")
    funding = analysis.by_unit(analysis.themes(web)).set_index("theme").loc["Funding"]
    assert funding["differs"] and funding["groups"] == "" and funding["rule"]
    page = html.unescape(viewer.get("/themes").text)
    assert "The unit of analysis changes 1 of 1 theme</b>" in page
    bold = ' style="font-weight:600"'  # a unit that names other disciplines than the rule
    cells = "".join(f"<td{bold if unit != 'rule' and funding[unit] != funding['rule'] else ''}>{funding[unit] or 'none'}</td>"
                    for unit in ("rule", "participants", "groups", "segments"))
    assert f"<td>Funding</td>{cells}" in page
    by_groups = html.unescape(viewer.get("/themes?unit=groups").text)
    assert "<b>Funding (no discipline)</b>" in by_groups and f"counting groups alone; the rule names {funding['rule']}" in by_groups
    by_participants = html.unescape(viewer.get("/themes?unit=participants").text)
    assert f"<b>Funding ({funding['participants']})</b>" in by_participants and "the rule names" not in by_participants
    bad = viewer.get("/themes?unit=turns")
    assert bad.status_code == 400 and "count by the rule or by participants, groups, segments, not &#39;turns&#39;" in bad.text


def test_saturation_cooccurrence_and_talk_show_what_the_library_computes(web):
    apply_code(web, "FG01", "Funding", "cora", turn=2)
    apply_code(web, "FG01", "Collaboration", "cora", turn=2)
    viewer, _ = signed_in(web, "vic")
    curve = analysis.saturation(web)
    page = viewer.get("/saturation?base=1&run=1&threshold=0.5")
    assert page.status_code == 200
    for row in curve.itertuples():
        assert f"<td>{row.group}</td><td>{row.new_codes}</td><td>{row.cumulative_codes}</td>" in page.text
    assert "groups with coded words" in viewer.get("/saturation").text, "too few groups for the runs: said, the curve still shown"
    assert "numbers of groups" in viewer.get("/saturation?base=0").text
    both = analysis.cooccurrence(web).loc["Challenges/Funding", "Benefits/Collaboration"]
    assert both >= 1 and re.search(rf">{both}</td>", viewer.get("/cooccurrence").text)
    talk = viewer.get("/talk").text
    for row in analysis.talk_share(web, "discipline").itertuples():
        assert f"{row.share * 100:.1f}%" in talk
    found = analysis.dynamics(web)
    fg01 = found.groups.set_index("group").loc["FG01"]
    assert f'<td class="num">{fg01.gini:.2f}</td>' in talk and 'id="speakers"' in talk and "<svg" in talk
    for person in found.speakers.itertuples():  # every member of FG01, the facilitator too, with their words
        assert re.search(rf"<td>{person.speaker}</td>.*?<td class=\"num\">{person.words}</td>", talk, re.S)


def test_segments_download_with_the_filters_of_the_page(web):
    apply_code(web, "FG01", "Funding", "cora", turn=2)
    apply_code(web, "FG01", "Funding", "cole", turn=3)
    viewer, _ = signed_in(web, "vic")
    page = viewer.get("/segments?code=Funding&coder=cora")
    link = re.search(r'id="segments-csv" href="([^"]+)"', page.text).group(1).replace("&amp;", "&")
    table = pd.read_csv(io.StringIO(viewer.get(link).text))
    assert list(table["coder"]) == ["cora"] and len(table) == len(analysis.segments(web, code="Funding", coder="cora"))
    assert viewer.get("/segments.pdf").status_code == 404


def test_downloads_of_the_codebook_and_a_transcript(web):
    viewer, _ = signed_in(web, "vic")
    qdc = viewer.get("/codebook.qdc")
    assert qdc.status_code == 200 and b"<CodeBook" in qdc.content
    docx = viewer.get("/transcripts/FG01/export.docx")
    assert docx.content[:2] == b"PK" and 'filename="FG01.docx"' in docx.headers["content-disposition"]
    lines = viewer.get("/transcripts/FG01/export.txt").text.splitlines()
    assert lines[:2] == [  # the transcript's first two turns, each under its speaker's pseudonym
        "Reyes: Thank you all for coming. To start, what does palliative care mean to you in your practice on the leukemia and lymphoma service?",
        "Adaeze: For me it is symptom management and support for the whole family, alongside treatment aimed at cure. It is not only end of life.",
    ]
    with web.reading() as session:
        transcript = session.scalar(select(Transcript).where(Transcript.name == "FG01"))
        said = [f"{turn.participant.pseudonym}: {transcript.text[turn.start:turn.end]}" for turn in transcript.turns]
    assert lines == said, "every turn, in order, and nothing else"
    assert viewer.get("/transcripts/FG01/export.exe").status_code == 404
    word = viewer.get("/report.docx?min_groups=1&combine=and&min_share=0.5&characteristics=years_in_oncology")
    assert word.status_code == 200 and word.content[:2] == b"PK" and 'filename="findings.docx"' in word.headers["content-disposition"]
    bad = viewer.get("/report.docx?characteristics=shoe_size")
    assert bad.status_code == 400 and "no roster column 'shoe_size'" in bad.json()["error"]


def test_every_analysis_page_counts_the_coding_chosen_in_its_field_and_says_which(web):
    """Two coders who coded alike count as one on every page; a consensus that dropped a coding is followed, and says so."""
    for coder in ("cora", "cole"):
        for turn in (2, 4, 6):
            apply_code(web, "FG01", "Funding", coder, turn=turn)
    viewer, _ = signed_in(web, "vic")

    def funding(page: str) -> list[str]:
        row = re.search(r">Challenges/Funding</a></td>(.*?)</tr>", html.unescape(page)).group(1)
        return re.findall(r">(\d+)</a></td>", row)

    alone = funding(viewer.get("/matrix?count=segments&basis=cora").text)
    assert sum(map(int, alone)) == 3
    assert funding(viewer.get("/matrix?count=segments").text) == alone, "two coders alike count as one"
    assert funding(viewer.get("/matrix?count=segments&basis=everyone").text) == alone
    analysis.consensus(web, ["cora", "cole"])
    page = html.unescape(viewer.get("/matrix?count=segments").text)
    assert funding(page) == alone and "Findings count the consensus coding of cora and cole" in page
    for path in ("/segments?code=Funding", "/themes", "/saturation", "/cooccurrence"):
        shown = html.unescape(viewer.get(path + ("&" if "?" in path else "?") + "basis=everyone").text)
        assert 'id="basis-line"' in shown and "Findings count every coder's codings (cole, cora)" in shown, path
        assert '<option value="everyone" selected>' in shown, path
    assert "3 coded segments" in viewer.get("/segments?code=Funding").text
    for path in ("/matrix?basis=zed", "/segments.csv?basis=zed", "/report?basis=zed", "/report/tables.xlsx?basis=zed"):
        unknown = viewer.get(path)
        assert unknown.status_code == 400 and "no coder called 'zed'" in unknown.json()["error"], path
