"""The report's and the Word draft's numbers against counts made by hand, not against :func:`chorus.report.tables`.

A study small enough to count on paper: 6 participants of 3 disciplines in 2
groups, two coders who disagree on four turns, and the consensus they decide. Every
number expected below was counted by hand from the transcripts and the codings
written in this file, as the report defines them (``chorus.report.build``,
``chorus.analysis.themes`` and ``matrix``):

- a *segment* is a coded passage of one turn; the findings count the consensus
  where one is written, so two coders agreeing on a turn make one segment;
- a theme's *participants* and *groups* are the distinct speakers and groups of
  its segments, its subcodes' included; a top-level code that only gathers others
  (Benefits, Challenges) is a heading, not a theme;
- a discipline *raised* a theme under the rule used here when it came up in at
  least 2 of its groups or from at least half of its participants;
- facilitators are not participants: they are in no count but the groups' turns and words.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from docx import Document
from lxml import html as lxml_html

from chorus.analysis import Rule, agreement
from chorus.coding import apply_code
from chorus.ingest import import_codebook, import_groups, import_roster, import_transcripts
from chorus.report import build, manuscript

ROSTER = """id,pseudonym,discipline,care_team,group,role
P1,Ann,nurse,Onc,G1,participant
P2,Bea,physician,Onc,G1,participant
P3,Cal,social worker,Hem,G1,participant
P4,Dev,nurse,Hem,G2,participant
P5,Eve,nurse,Onc,G2,participant
P6,Fay,physician,Hem,G2,participant
F1,Mod,,,G1;G2,facilitator
"""
GROUPS = """group,date,facilitator
G1,2024-03-01,Mod
G2,2024-03-08,Mod
"""
CODEBOOK = """code,parent,definition
Benefits,,What helps.
Teamwork,Benefits,Working together.
Communication,Benefits,Talking with families.
Challenges,,What gets in the way.
Funding,Challenges,Money and budgets.
Hope,,Hope for the future.
"""
#: Turn by turn, with each turn's words counted by hand in the comment.
G1 = """Mod: What helps your work?
Ann: Working as a team helps every day.
Bea: The team talks well with families.
Cal: Funding for social work is short.
Mod: What gets in the way?
Ann: There is never enough funding.
Bea: I keep hoping it gets better.
Ann: Funding cuts hurt us.
"""  # words: 4 + 7 + 6 + 6 + 5 + 5 + 6 + 4 = 43 in 8 turns
G2 = """Mod: What helps your work?
Dev: Our team shares the load.
Eve: We talk with each family early.
Fay: The budget was cut again.
Mod: Anything else?
Eve: Funding decides what we can offer.
Dev: Families give us hope.
Eve: Hope keeps us going.
"""  # words: 4 + 5 + 6 + 5 + 2 + 6 + 4 + 4 = 36 in 8 turns

#: (group, turn, code): what both coders coded, turn by turn.
AGREED = [
    ("G1", 2, "Teamwork"), ("G1", 3, "Teamwork"), ("G1", 3, "Communication"), ("G1", 4, "Funding"), ("G1", 7, "Hope"), ("G1", 8, "Funding"),
    ("G2", 2, "Teamwork"), ("G2", 4, "Funding"), ("G2", 6, "Funding"), ("G2", 7, "Hope"), ("G2", 8, "Hope"),
]
#: What one coder alone coded, and what the coders decided about it.
DISAGREED = [
    ("cora", "G1", 6, "Funding", "keep", ""),  # Ann: "There is never enough funding."
    ("cole", "G1", 2, "Hope", "drop", ""),  # Ann on teamwork: not hope
    ("cora", "G2", 3, "Communication", "keep", ""),  # Eve: "We talk with each family early."
    ("cole", "G2", 3, "Teamwork", "recode", "Benefits/Communication"),  # the same turn: Communication once, not twice
]

# So the consensus codes (speaker, discipline):
#   Teamwork       G1 t2 Ann (nurse), G1 t3 Bea (physician), G2 t2 Dev (nurse)
#   Communication  G1 t3 Bea (physician), G2 t3 Eve (nurse)
#   Funding        G1 t4 Cal (social worker), G1 t6 Ann (nurse), G1 t8 Ann (nurse), G2 t4 Fay (physician), G2 t6 Eve (nurse)
#   Hope           G1 t7 Bea (physician), G2 t7 Dev (nurse), G2 t8 Eve (nurse)
# Disciplines: 3 nurses (Ann, Dev, Eve), 2 physicians (Bea, Fay), 1 social worker (Cal).

RULE = Rule(min_groups=2, min_share=0.5, combine="or")

#: Table 1 in the report: participants by discipline (rows) and care team (columns), with totals.
SAMPLE = [
    ["discipline", "Hem", "Onc", "total"],
    ["nurse", "1", "2", "3"],  # Dev; Ann, Eve
    ["physician", "1", "1", "2"],  # Fay; Bea
    ["social worker", "1", "0", "1"],  # Cal
    ["total", "3", "3", "6"],
]
#: The report's groups: participants (not the facilitator), turns and words (the facilitator's included).
GROUP_ROWS = [
    ["G1", "2024-03-01", "nurse, physician, social worker", "Hem, Onc", "3", "8", "43", ""],
    ["G2", "2024-03-08", "nurse, physician", "Hem, Onc", "3", "8", "36", ""],
]
#: Table 1 in Word: disciplines overall, care teams overall and within each discipline, n (%).
TABLE_ONE = [
    ["Characteristic", "All (n = 6)", "nurse (n = 3)", "physician (n = 2)", "social worker (n = 1)"],
    ["Discipline, n (%)", "", "", "", ""],
    ["nurse", "3 (50%)", "", "", ""],
    ["physician", "2 (33%)", "", "", ""],
    ["social worker", "1 (17%)", "", "", ""],
    ["Care team, n (%)", "", "", "", ""],
    ["Hem", "3 (50%)", "1 (33%)", "1 (50%)", "1 (100%)"],
    ["Onc", "3 (50%)", "2 (67%)", "1 (50%)", "0 (0%)"],
]
#: Per theme: who raised it under RULE (most to least by share), segments, participants, groups.
#: Teamwork: nurses 2 of 3 (0.67), physicians 1 of 2 (0.5); Communication: physicians 1 of 2, nurses 1 of 3 in 1 group (not raised);
#: Funding: social workers 1 of 1, nurses 2 of 3, physicians 1 of 2; Hope: nurses 2 of 3 (in one group), physicians 1 of 2.
THEMES = [
    ("Benefits", "Teamwork", "nurses, physicians", 3, 3, 2),
    ("Benefits", "Communication", "physicians", 2, 2, 2),
    ("Challenges", "Funding", "social workers, nurses, physicians", 5, 4, 2),
    ("Hope", "Hope", "nurses, physicians", 3, 3, 2),
]
#: Per theme and discipline in the findings: "discipline: N people, N groups".
TAGS = {
    "Teamwork": ["nurse: 2 people, 2 groups", "physician: 1 people, 1 groups", "social worker: 0 people, 0 groups"],
    "Communication": ["nurse: 1 people, 1 groups", "physician: 1 people, 1 groups", "social worker: 0 people, 0 groups"],
    "Funding": ["nurse: 2 people, 2 groups", "physician: 1 people, 1 groups", "social worker: 1 people, 1 groups"],
    "Hope": ["nurse: 2 people, 1 groups", "physician: 1 people, 1 groups", "social worker: 0 people, 0 groups"],
}
#: The code x discipline matrices: every code of the codebook, its own codings only (no subcodes), columns nurse, physician, social worker.
MATRICES = {
    "Coded segments": [
        ["code", "nurse", "physician", "social worker"],
        ["Benefits", "0", "0", "0"],
        ["Benefits/Teamwork", "2", "1", "0"],
        ["Benefits/Communication", "1", "1", "0"],
        ["Challenges", "0", "0", "0"],
        ["Challenges/Funding", "3", "1", "1"],  # Ann twice, Eve; Fay; Cal
        ["Hope", "2", "1", "0"],
    ],
    "Participants": [
        ["code", "nurse", "physician", "social worker"],
        ["Benefits", "0", "0", "0"],
        ["Benefits/Teamwork", "2", "1", "0"],
        ["Benefits/Communication", "1", "1", "0"],
        ["Challenges", "0", "0", "0"],
        ["Challenges/Funding", "2", "1", "1"],  # Ann and Eve
        ["Hope", "2", "1", "0"],
    ],
    "Groups": [
        ["code", "nurse", "physician", "social worker"],
        ["Benefits", "0", "0", "0"],
        ["Benefits/Teamwork", "2", "1", "0"],
        ["Benefits/Communication", "1", "1", "0"],
        ["Challenges", "0", "0", "0"],
        ["Challenges/Funding", "2", "1", "1"],
        ["Hope", "1", "1", "0"],  # Dev and Eve, both in G2
    ],
}


def small_study(study, folder: Path):
    """The study above, built by the library: roster, groups, codebook, two transcripts, two coders and their consensus."""
    from chorus import analysis
    from chorus.analysis.agreement import decide

    folder.mkdir()
    for name, text in (("roster.csv", ROSTER), ("groups.csv", GROUPS), ("codebook.csv", CODEBOOK), ("G1.txt", G1), ("G2.txt", G2)):
        (folder / name).write_text(text, encoding="utf-8")
    import_roster(study, folder / "roster.csv")
    import_groups(study, folder / "groups.csv")
    import_codebook(study, folder / "codebook.csv")
    assert import_transcripts(study, [folder / "G1.txt", folder / "G2.txt"]) == []
    for coder in ("cora", "cole"):
        for group, turn, code in AGREED:
            apply_code(study, group, code, coder, turn=turn)
    for coder, group, turn, code, _, _ in DISAGREED:
        apply_code(study, coder=coder, transcript=group, code=code, turn=turn)
    listed = analysis.disagreements(study, ["cora", "cole"])
    assert sorted(zip(listed["transcript"], listed["turn"], listed["code"].str.split("/").str[-1])) == sorted(
        (g, t, c) for _, g, t, c, _, _ in DISAGREED), "the four disagreements, and no other"
    for _, group, turn, code, decision, recode_to in DISAGREED:
        [row] = listed[(listed["transcript"] == group) & (listed["turn"] == turn) & listed["code"].str.endswith(code)].itertuples()
        decide(study, ["cora", "cole"], group, turn, row.sentence, row.code, decision, recode_to)
    assert analysis.consensus(study, ["cora", "cole"]) == {"agreed": 11, "kept": 2, "dropped": 1, "recoded": 1, "unresolved": 0}
    return study


def rows(table) -> list[list[str]]:
    """An HTML table's cells, row by row, as the page shows them."""
    return [[" ".join(cell.text_content().split()) for cell in row.xpath("th|td")] for row in table.xpath(".//tr")]


def after(page, heading: str):
    """The first table after the heading that says ``heading``."""
    [found] = page.xpath(f"//*[self::h2 or self::h3][normalize-space()='{heading}']")
    return found.xpath("following::table[1]")[0]


def test_the_report_and_the_word_draft_show_the_counts_made_by_hand(study, tmp_path: Path):
    small = small_study(study, tmp_path / "files")
    page = lxml_html.fromstring(build(small, tmp_path / "findings.html", RULE).html.read_text(encoding="utf-8"))

    figures = [(f.xpath("b")[0].text, f.xpath("b")[0].tail.strip()) for f in page.xpath("//div[@class='figure']")]
    assert figures == [("6", "participants"), ("2", "focus groups"), ("16", "speaker turns"), ("79", "words transcribed")]
    assert rows(after(page, "Participants by discipline and care team")) == SAMPLE
    assert rows(after(page, "Focus groups"))[1:] == GROUP_ROWS
    for title, expected in MATRICES.items():
        assert rows(after(page, title)) == expected, title
    shown = {}
    for theme in page.xpath("//section[@id='findings']//div[@class='theme']"):
        stats = " ".join(theme.xpath(".//div[@class='stats']")[0].text_content().split())
        shown[theme.xpath(".//h4")[0].text_content()] = (stats.split(".")[0] + ".", [" ".join(t.text_content().split()) for t in theme.xpath(".//span[@class='tag']")])
    assert list(shown) == [f"{theme} ({raised})" for _, theme, raised, *_ in THEMES]
    for _, theme, raised, segments, participants, groups in THEMES:
        stats, tags = shown[f"{theme} ({raised})"]
        assert stats == f"{segments} coded segments from {participants} participants in {groups} groups.", theme
        assert tags == TAGS[theme], theme
    assert [h.text_content() for h in page.xpath("//section[@id='findings']/h3")] == ["Benefits", "Challenges", "Hope"]

    draft = Document(str(manuscript(small, tmp_path / "findings.docx", RULE)))
    first, second = draft.tables[0], draft.tables[1]
    assert [[c.text.strip() for c in row.cells] for row in first.rows] == TABLE_ONE
    table_two = [[c.text for c in row.cells] for row in second.rows]
    assert table_two[0] == ["Theme", "Raised by", "Participants", "Groups", "Exemplar quotes"]
    headings = [row[0] for row in table_two[1:] if len(set(row)) == 1]  # a parent heading is one merged cell across the row
    assert headings == ["Benefits", "Challenges"], "Hope is a theme of its own, under no heading"
    assert [row[:4] for row in table_two[1:] if len(set(row)) > 1] == [[theme, raised, str(participants), str(groups)]
                                                                      for _, theme, raised, _, participants, groups in THEMES]
    said = "\n".join(p.text for p in draft.paragraphs)
    assert "We conducted 2 focus groups with 6 participants (3 nurses, 2 physicians, 1 social worker)." in said
    assert "Groups had 3-3 participants (mean 3.0)." in said and "One facilitator moderated the discussions." in said
    assert "Table 1 describes the 6 participants" in said
    assert "Transcripts were coded by" in said and "with a codebook of 6 codes" in said and "Coders: cole, cora." in said


@pytest.mark.parametrize("backend", ["sqlite"])
def test_the_hand_counts_are_the_consensus_not_either_coder(study, tmp_path: Path):
    """The same study counted with one coder's codings differs where the hand counts say: the counts above are the consensus's."""
    from chorus.analysis import matrix, themes

    small = small_study(study, tmp_path / "files")
    cora = themes(small, RULE, basis="cora").set_index("theme")
    assert (cora.at["Communication", "segments"], cora.at["Teamwork", "segments"]) == (2, 3)  # cora: Communication on G2 t3 too
    cole = themes(small, RULE, basis="cole").set_index("theme")
    assert (cole.at["Communication", "segments"], cole.at["Teamwork", "segments"], cole.at["Hope", "segments"]) == (1, 4, 4)
    assert int(matrix(small, basis="cole").at["Hope", "nurse"]) == 3  # Ann (G1 t2), Dev, Eve
    assert agreement(small, ["cora", "cole"]).iloc[-1]["units"] > 0
