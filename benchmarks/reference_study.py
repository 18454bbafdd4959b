"""A study the size of the reference study, built through Chorus's own importers and autocoder.

24 focus groups split by discipline and care team, 174 participants (25 physicians,
30 advanced practice providers, 70 nurses, 49 psychosocial clinicians) and two
facilitators; each group's transcript is a 90-minute session of 900 turns, its
sentences drawn from the demo study's transcripts (so the codebook's patterns find
what they find there), and about 20,000 codings by three coders: one codes
sentences, one the words that match, one whole turns. It carries the demo's discussion
guide, aligned to every transcript.

    python benchmarks/reference_study.py build/reference-study   # builds it (about a minute)
"""

from __future__ import annotations

import csv
import random
import re
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import chorus  # noqa: E402
from chorus.assist.guide import align_guide  # noqa: E402
from chorus.coding import autocode  # noqa: E402
from chorus.ingest import import_codebook, import_groups, import_roster, import_transcripts  # noqa: E402
from chorus.ingest.guide import import_guide  # noqa: E402
from tests.helpers import DEMO  # noqa: E402

DISCIPLINES = {"physician": 25, "APP": 30, "nurse": 70, "psychosocial clinician": 49}
TEAMS = ("Leukemia/Lymphoma", "Solid Tumor/Neuro-oncology", "Stem cell transplant")
GROUPS_PER_DISCIPLINE = 6
#: (code, pattern) as the demo's first coding pass has them, shortened.
PATTERNS = {
    "Early integration": r"at diagnosis|from day one|early integration|early palliative|earlier|moment of diagnosis",
    "Normalizing palliative care": r"normali[sz]e|\bnormal\b|routine|ordinary|like the dietitian|for every family",
    "Collaboration": r"collaborat|team ?work|huddle|interdisciplinary|on the same page|partnership",
    "Communication": r"communicat|conversations?\b|language|script|goals of care",
    "Funding": r"fund|budget|reimburs|billable|billing|philanthrop|\bgrant\b|donation|insurance|money",
    "Medical opposition": r"push(es|ed)? back|resist|gatekeep|territor|giving up|not ready|take away hope",
    "Unclear interdisciplinary roles": r"\broles?\b|who is supposed to|who owns|whose job|stepping on toes|who does what",
    "Family perceptions of palliative care": r"hospice|old people|dying team|parents? (\w+ )?(hear|think|thought)",
    "Staff moral distress": r"moral distress|burn ?out|cried|lost sleep|\btoll\b|\bheavy\b|grieve|debrief",
    "Education and training": r"training|\btaught\b|teach|education|curriculum|simulation|workshop",
}


def demo_sentences() -> tuple[list[str], list[str]]:
    """What the demo's participants said (sentences) and what its facilitators asked (questions)."""
    said, asked = [], []
    for path in sorted((DEMO / "transcripts").glob("*.txt")) + sorted((DEMO / "transcripts").glob("*.md")):
        for line in path.read_text(encoding="utf-8").splitlines():
            line = re.sub(r"#\d\d:\d\d:\d\d-\d#|\[\d\d:\d\d:\d\d\]|\*\*", "", line).strip()
            speaker, colon, text = line.partition(": ")
            if not colon or len(speaker) > 20:
                continue
            parts = [s.strip() for s in re.split(r"(?<=[.?!])\s+", text) if s.strip()]
            (asked if speaker in ("Reyes", "Chen") else said).extend(parts)
    return said, asked


def build(folder: Path, groups_per_discipline: int = GROUPS_PER_DISCIPLINE, turns: int = 900, seed: int = 11) -> chorus.Study:
    """Build the study in ``folder`` (which must not exist) and return it open."""
    rng = random.Random(seed)
    said, asked = demo_sentences()
    study = chorus.init(folder, name="Reference-size study (synthetic)")
    with tempfile.TemporaryDirectory() as tmp:
        files = Path(tmp)
        roster, group_rows, members = [], [], {}
        number = 0
        for discipline, people in DISCIPLINES.items():
            names = [f"G{g + 1:02d}" for g in range(groups_per_discipline)]
            base = len(group_rows)
            for g, group in enumerate(names):
                group = f"FG{base + g + 1:02d}"
                team = TEAMS[g % len(TEAMS)]
                facilitator = ("Reyes", "Chen")[g % 2]
                group_rows.append({"group": group, "date": f"2024-{1 + (base + g) // 4:02d}-{1 + 7 * ((base + g) % 4):02d}",
                                   "discipline": discipline, "care_team": team, "facilitator": facilitator})
                members[group] = [facilitator]
            for k in range(people):
                number += 1
                group = group_rows[base + k % groups_per_discipline]["group"]
                pseudonym = f"{discipline.split()[0][:3].title()}{number:03d}"
                members[group].append(pseudonym)
                roster.append({"id": f"P{number:03d}", "pseudonym": pseudonym, "discipline": discipline,
                               "care_team": group_rows[base + k % groups_per_discipline]["care_team"], "group": group, "role": "participant"})
        for facilitator in ("Reyes", "Chen"):
            roster.append({"id": facilitator.upper(), "pseudonym": facilitator, "discipline": "", "care_team": "",
                           "group": ";".join(r["group"] for r in group_rows if r["facilitator"] == facilitator), "role": "facilitator"})
        for name, rows in (("roster.csv", roster), ("groups.csv", group_rows)):
            with (files / name).open("w", newline="", encoding="utf-8") as out:
                writer = csv.DictWriter(out, fieldnames=list(rows[0]))
                writer.writeheader()
                writer.writerows(rows)
        import_roster(study, files / "roster.csv")
        import_groups(study, files / "groups.csv")
        import_codebook(study, DEMO / "codebook.csv")
        paths = []
        for row in group_rows:
            facilitator, *people = members[row["group"]]
            lines = []
            for ordinal in range(turns):
                if ordinal % 10 == 0:
                    lines.append(f"{facilitator}: {rng.choice(asked)}")
                else:
                    lines.append(f"{rng.choice(people)}: {' '.join(rng.sample(said, rng.randint(1, 2)))}")
            path = files / f"{row['group']}.txt"
            path.write_text("\n\n".join(lines) + "\n", encoding="utf-8")
            paths.append(path)
        import_transcripts(study, paths)
    return coded_by_three(guided(study))


def guided(study: chorus.Study) -> chorus.Study:
    """The study with the demo's discussion guide, aligned to every transcript."""
    import_guide(study, DEMO / "guide.csv")
    align_guide(study)
    return study


def coded_by_three(study: chorus.Study) -> chorus.Study:
    """The study coded by three coders as the reference study is: ann by sentence, ben by match, cy by turn."""
    for code, pattern in PATTERNS.items():
        autocode(study, code, "ann", pattern=pattern, scope="sentence")
    for code in ("Funding", "Communication", "Medical opposition", "Unclear interdisciplinary roles"):
        autocode(study, code, "ben", pattern=PATTERNS[code], scope="match")
    for code in ("Collaboration", "Early integration"):
        autocode(study, code, "cy", pattern=PATTERNS[code], scope="turn")
    return study


if __name__ == "__main__":
    import time

    from sqlalchemy import func, select

    from chorus.study.models import Coding, Turn

    started = time.perf_counter()
    made = build(Path(sys.argv[1]))
    with made.reading() as session:
        counts = session.scalar(select(func.count()).select_from(Turn)), session.scalar(select(func.count()).select_from(Coding))
    print(f"built {made.folder}: {counts[0]:,} turns, {counts[1]:,} codings in {time.perf_counter() - started:.0f} s")
