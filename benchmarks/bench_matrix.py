"""Benchmark: the code x discipline matrix on a synthetic study of 1,000 transcripts and 1,000,000 codings.

Chorus's matrix (participants and segments) is timed against a naive baseline
measured in the same run: every coding loaded as an ORM object with its turns and
speakers, then counted with pandas. Each side runs in its own process so its peak
memory (max RSS) is its own. Targets (issue 2): under 1 s, at least 5x the
baseline, peak memory under 1 GiB.

Then the cost of counting each passage once (issue 42): the same study with a
second coder who coded every passage alike (``--double`` codings each), whose
matrix must equal one coder's, timed against one coder's in the same run.

    make bench            # or: python benchmarks/bench_matrix.py [--codings N]
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DISCIPLINES = ("physician", "APP", "nurse", "psychosocial clinician")
WORDS = "we families palliative care team early nurses funding roles talk support plan child parents time".split()


def build(folder: Path, transcripts: int, codings: int, seed: int = 7, coders: int = 1) -> None:
    """A study with ``transcripts`` groups of 6 participants and 50 turns each, and ``codings`` codings by each of ``coders``
    coders, who all coded alike.

    Written with sqlite3 directly (the library's per-coding checks would take
    longer than the measurements), but obeying every rule the library enforces.
    """
    import chorus

    study = chorus.init(folder, name="synthetic")
    path = Path(study.url.removeprefix("sqlite:///"))
    study.close()
    rng = random.Random(seed)
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=OFF")
    codes = 50
    db.executemany("INSERT INTO code (id, name, colour, position) VALUES (?, ?, '#4e79a7', ?)", [(i, f"Code {i:02d}", i) for i in range(1, codes + 1)])
    db.executemany("INSERT INTO coder (id, name) VALUES (?, ?)", [(c, ("ann", "ben", "cy")[c - 1]) for c in range(1, coders + 1)])
    per_transcript = codings // transcripts
    turn_id = coding_id = 0
    for t in range(1, transcripts + 1):
        db.execute("INSERT INTO focus_group (id, name, attributes) VALUES (?, ?, '{}')", (t, f"G{t:04d}"))
        discipline = DISCIPLINES[t % 4]
        people = []
        for k in range(6):
            pid = (t - 1) * 6 + k + 1
            people.append((pid, f"P{pid:05d}"))
            db.execute(
                "INSERT INTO participant (id, key, pseudonym, discipline, care_team, role, attributes) VALUES (?, ?, ?, ?, ?, 'participant', '{}')",
                (pid, f"K{pid}", f"P{pid:05d}", discipline, "team A" if t % 2 else "team B"),
            )
            db.execute("INSERT INTO membership (participant_id, group_id) VALUES (?, ?)", (pid, t))
        pieces, turns, offset = [], [], 0
        for ordinal in range(1, 51):
            pid, name = people[ordinal % 6]
            said = " ".join(rng.choice(WORDS) for _ in range(30))
            prefix = f"{name}: "
            start = offset + len(prefix)
            turn_id += 1
            turns.append((turn_id, t, ordinal, pid, name, start, start + len(said)))
            pieces.append(prefix + said)
            offset = start + len(said) + 1
        text = "\n".join(pieces)
        db.execute(
            "INSERT INTO transcript (id, name, group_id, text, sha256, imported_at) VALUES (?, ?, ?, ?, '', '2024-01-01')",
            (t, f"G{t:04d}", t, text),
        )
        db.executemany('INSERT INTO turn (id, transcript_id, ordinal, participant_id, speaker_label, start, "end") VALUES (?, ?, ?, ?, ?, ?, ?)', turns)
        rows, links = [], []
        for n in range(per_transcript):
            turn = turns[n % 50]
            code = rng.randint(1, codes)
            slot = (turn[6] - turn[5]) // (per_transcript // 50 + 1)  # each coding of a turn its own span:
            a = turn[5] + (n // 50) * slot  # a coder never overlaps a code with itself (Chorus refuses that)
            for coder in range(1, coders + 1):
                coding_id += 1
                rows.append((coding_id, t, code, coder, a, a + max(slot - 1, 1), "2024-01-01 00:00:00.000000"))
                links.append((coding_id, turn[0], code, turn[3], t))
        db.executemany('INSERT INTO coding (id, transcript_id, code_id, coder_id, start, "end", created_at) VALUES (?, ?, ?, ?, ?, ?, ?)', rows)
        db.executemany(
            "INSERT INTO coding_turn (coding_id, turn_id, code_id, participant_id, transcript_id) VALUES (?, ?, ?, ?, ?)", links
        )
    db.commit()
    db.execute("ANALYZE")  # planner statistics, as a store in use would have; the ORM baseline needs them
    db.close()


def chorus_matrix(folder: Path) -> dict:
    import chorus
    from chorus.analysis import matrix

    study = chorus.open(folder)
    matrix(study, count="segments")  # warm the connection and imports once
    timings = {}
    for count in ("participants", "segments"):
        start = time.perf_counter()
        table = matrix(study, by="discipline", count=count)
        timings[count] = time.perf_counter() - start
        timings[f"{count}_total"] = int(table.to_numpy().sum())
    return timings


def naive_matrix(folder: Path) -> dict:
    import pandas as pd
    from sqlalchemy import select
    from sqlalchemy.orm import selectinload

    import chorus
    from chorus.study.models import Coding, Turn

    study = chorus.open(folder)
    timings = {}
    start = time.perf_counter()
    with study.reading() as session:
        rows = [
            {"code": c.code_id, "coding": c.id, "participant": t.participant_id, "discipline": t.participant.discipline}
            for c in session.scalars(select(Coding).options(selectinload(Coding.turns).selectinload(Turn.participant)))
            for t in c.turns
        ]
    frame = pd.DataFrame(rows)
    loaded = time.perf_counter() - start
    for count in ("participants", "segments"):
        start = time.perf_counter()
        column = "participant" if count == "participants" else "coding"
        table = frame.groupby(["code", "discipline"])[column].nunique().unstack(fill_value=0)
        timings[count] = loaded + time.perf_counter() - start
        timings[f"{count}_total"] = int(table.to_numpy().sum())
    return timings


def child(role: str, folder: Path) -> dict:
    """Run one side in a fresh process; returns its timings and its peak RSS in MiB."""
    out = subprocess.run([sys.executable, __file__, "--role", role, "--folder", str(folder)], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--transcripts", type=int, default=1000)
    parser.add_argument("--codings", type=int, default=1_000_000)
    parser.add_argument("--double", type=int, default=200_000, help="codings per coder in the study two coders coded alike")
    parser.add_argument("--role", choices=["chorus", "naive"])
    parser.add_argument("--folder", type=Path)
    args = parser.parse_args()
    if args.role:
        result = (chorus_matrix if args.role == "chorus" else naive_matrix)(args.folder)
        result["peak_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps(result))
        return
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "synthetic"
        start = time.perf_counter()
        build(folder, args.transcripts, args.codings)
        print(f"built {args.transcripts:,} transcripts, {args.codings:,} codings in {time.perf_counter() - start:.1f} s")
        fast = child("chorus", folder)
        slow = child("naive", folder)
    for count in ("participants", "segments"):
        assert fast[f"{count}_total"] == slow[f"{count}_total"], f"{count}: chorus and baseline disagree"
        ratio = slow[count] / fast[count]
        print(
            f"matrix by discipline ({count:>12}): chorus {fast[count]:6.3f} s, baseline {slow[count]:7.2f} s, "
            f"{ratio:5.1f}x faster  [target < 1 s and >= 5x: {'met' if fast[count] < 1 and ratio >= 5 else 'NOT met'}]"
        )
    print(
        f"peak memory: chorus {fast['peak_mib']:.0f} MiB, baseline {slow['peak_mib']:.0f} MiB  "
        f"[target < 1024 MiB: {'met' if fast['peak_mib'] < 1024 else 'NOT met'}]"
    )
    with tempfile.TemporaryDirectory() as tmp:
        one, two = Path(tmp) / "one", Path(tmp) / "two"
        build(one, args.transcripts, args.double)
        build(two, args.transcripts, args.double, coders=2)
        alone, alike = child("chorus", one), child("chorus", two)
    for count in ("participants", "segments"):
        assert alone[f"{count}_total"] == alike[f"{count}_total"], f"{count}: two coders who coded alike must count as one"
        print(f"counted once ({count:>12}): two coders alike, {2 * args.double:,} codings: {alike[count]:6.3f} s; "
              f"one coder, {args.double:,}: {alone[count]:6.3f} s ({alike[count] / alone[count]:.1f}x); same figures")
    print(f"peak memory counting once: {alike['peak_mib']:.0f} MiB (one coder: {alone['peak_mib']:.0f} MiB)")


if __name__ == "__main__":
    main()
