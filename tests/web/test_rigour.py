"""Agreement and consensus in the browser: the CLI's figures, disagreements decided one by one, the consensus written."""

from __future__ import annotations

import csv
import html
import io
import re

from chorus import analysis
from chorus.coding import apply_code
from chorus.ingest import import_transcripts
from tests.helpers import DEMO
from tests.study.test_audit import table_rows
from tests.web.conftest import signed_in


def two_coders(study) -> None:
    for turn in (2, 3, 5):
        apply_code(study, "FG01", "Funding", "cora", turn=turn)
    for turn in (2, 4):
        apply_code(study, "FG01", "Funding", "cole", turn=turn)
    for turn in (3, 6):
        apply_code(study, "FG01", "Collaboration", "cole", turn=turn)


def decided(page: str, choices: dict[int, tuple[str, str]], into: str) -> dict[str, list[str]]:
    """The consensus form as a browser sends it, with ``choices`` (row -> decision, recode to) made."""
    form: dict[str, list[str]] = {"coders": ["cora", "cole"], "unit": ["turn"], "into": [into]}
    rows = re.findall(r'name="transcript" value="([^"]+)"><input type="hidden" name="turn" value="([^"]+)">'
                      r'<input type="hidden" name="sentence" value="([^"]+)"><input type="hidden" name="code_of" value="([^"]+)"', page)
    for i, (transcript, turn, sentence, code) in enumerate(rows):
        decision, recode = choices.get(i, ("", ""))
        for key, value in (("transcript", transcript), ("turn", turn), ("sentence", sentence), ("code_of", html.unescape(code)),
                           ("decision", decision), ("recode_to", recode)):
            form.setdefault(key, []).append(value)
    return form


def test_the_agreement_page_shows_the_cli_figures_and_the_owner_writes_the_consensus(web):
    two_coders(web)
    owner, csrf = signed_in(web, "olive")
    page = owner.get("/agreement?coders=cora&coders=cole&unit=turn").text
    table = analysis.agreement(web, ["cora", "cole"], unit="turn").round(3)
    for row in table.itertuples():
        cells = re.search(rf"<td>{re.escape(row.code)}</td>(.*?)</tr>", page).group(1)
        shown = re.findall(r'<td class="num">([^<]*)</td>', cells)
        expected = ["" if v != v else str(v) for v in (row.units, row.coded, row.percent_agreement, row.kappa, row.cohen_kappa,
                                                       row.fleiss_kappa, row.brennan_prediger, row.alpha)]
        assert shown == expected, row.code
    listed = analysis.disagreements(web, ["cora", "cole"])
    assert page.count('name="decision"') == len(listed) >= 3

    stored = table_rows(web)
    bad = owner.post("/consensus", headers={"X-CSRF-Token": csrf}, data=decided(page, {0: ("recode", "No such code")}, "agreed"))
    assert bad.status_code == 400 and "disagreement 1: no code 'No such code'" in html.unescape(bad.text)
    assert table_rows(web) == stored, "a bad decision stores nothing"

    choices = {0: ("keep", ""), 1: ("drop", ""), 2: ("recode", "Benefits/Communication")}
    done = owner.post("/consensus", headers={"X-CSRF-Token": csrf}, data=decided(page, choices, "agreed"))
    assert done.status_code == 303 and "1+kept%2C+1+dropped%2C+1+recoded" in done.headers["location"]
    consensus = analysis.segments(web, coder="agreed")
    assert "Benefits/Communication" in set(consensus["code"])
    again = owner.post("/consensus", headers={"X-CSRF-Token": csrf}, data=decided(page, choices, "agreed"))
    assert again.status_code == 303, "writing the consensus again replaces it"
    assert len(analysis.segments(web, coder="agreed")) == len(consensus), "replaced, not added to"
    coder, coder_csrf = signed_in(web, "cora")
    assert coder.post("/consensus", headers={"X-CSRF-Token": coder_csrf}, data=decided(page, choices, "other")).status_code == 403
    assert "Write the consensus" not in coder.get("/agreement?coders=cora&coders=cole").text


def test_too_few_coders_or_none_in_common_are_explained(web):
    two_coders(web)
    viewer, _ = signed_in(web, "vic")
    assert 'id="agreement"' not in viewer.get("/agreement?coders=cora").text
    alone = viewer.get("/agreement?coders=cora&coders=vic")
    assert alone.status_code == 400 and re.search(r'role="alert">[^<]+', alone.text)


def test_disagreements_come_a_page_at_a_time_and_by_transcript(web, monkeypatch):
    from chorus.web.routes import rigour

    two_coders(web)
    import_transcripts(web, [DEMO / "transcripts" / "FG03.txt"])
    apply_code(web, "FG03", "Funding", "cora", turn=2)
    apply_code(web, "FG03", "Funding", "cole", turn=3)
    monkeypatch.setattr(rigour, "DISAGREEMENTS_SHOWN", 2)
    viewer, _ = signed_in(web, "vic")
    listed = analysis.disagreements(web, ["cora", "cole"])
    first = viewer.get("/agreement?coders=cora&coders=cole").text
    assert f"{len(listed)} disagreements" in first and first.count('name="decision"') == 2
    assert f"1-2 of {len(listed)}" in first and 'id="previous"' not in first
    seen = []
    link = re.search(r'href="([^"]+)" id="next"', first)
    pages = [first]
    while link:
        pages.append(viewer.get(html.unescape(link.group(1))).text)
        link = re.search(r'href="([^"]+)" id="next"', pages[-1])
    for page in pages:
        seen += re.findall(r'name="transcript" value="([^"]+)"><input type="hidden" name="turn" value="([^"]+)">', page)
    assert seen == list(zip(listed.transcript, listed.turn.astype(str))), "every disagreement once, in order"
    one = viewer.get("/agreement?coders=cora&coders=cole&transcript=FG03").text
    assert re.findall(r'name="transcript" value="([^"]+)"', one) == ["FG03", "FG03"] and "1-2 of 2 in FG03" in one
    beyond = viewer.get("/agreement?coders=cora&coders=cole&page=99").text
    assert f"of {len(listed)}" in beyond and 'id="next"' not in beyond, "a page past the end shows the last"


def test_the_consensus_is_written_from_a_decisions_file_as_the_cli_writes_it(web, tmp_path):
    two_coders(web)
    owner, csrf = signed_in(web, "olive")
    download = owner.get("/agreement/disagreements.csv?coders=cora&coders=cole&unit=turn")
    assert download.status_code == 200
    rows = list(csv.DictReader(io.StringIO(download.text)))
    rows[0]["decision"], rows[1]["decision"] = "keep", "drop"
    decisions = io.StringIO()
    writer = csv.DictWriter(decisions, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    form = {"coders": ["cora", "cole"], "unit": "turn", "into": "met"}
    stored = table_rows(web)
    wrong = owner.post("/consensus", headers={"X-CSRF-Token": csrf}, data=form, files={"decisions_file": ("decided.txt", b"x", "text/plain")})
    assert wrong.status_code == 400 and "decided.txt: expected one of .csv, .xlsx" in html.unescape(wrong.text)
    bad = decisions.getvalue().replace("keep", "recode", 1)  # recode needs a code to recode to
    refused = owner.post("/consensus", headers={"X-CSRF-Token": csrf}, data=form, files={"decisions_file": ("decided.csv", bad.encode(), "text/csv")})
    assert refused.status_code == 400 and "decided.csv, line 2: a 'recode' decision names the code" in html.unescape(refused.text)
    assert "/tmp" not in refused.text and table_rows(web) == stored, "a bad file stores nothing and names the file as uploaded"
    done = owner.post("/consensus", headers={"X-CSRF-Token": csrf}, data=form, files={"decisions_file": ("decided.csv", decisions.getvalue().encode(), "text/csv")})
    assert done.status_code == 303 and "1+kept%2C+1+dropped" in done.headers["location"]
    path = tmp_path / "decided.csv"
    path.write_text(decisions.getvalue(), encoding="utf-8")
    assert analysis.consensus(web, ["cora", "cole"], into="cli", decisions=path)["kept"] == 1
    mine = analysis.segments(web, coder="met")[["transcript", "turn", "code", "start", "end"]].values.tolist()
    assert mine == analysis.segments(web, coder="cli")[["transcript", "turn", "code", "start", "end"]].values.tolist()
