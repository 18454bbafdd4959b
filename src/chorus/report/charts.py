"""Charts as inline SVG, so a report is one file that opens anywhere without a network."""

from __future__ import annotations

import math
from html import escape

import pandas as pd


def _mix(share: float) -> str:
    """A colour from pale to deep blue for a share between 0 and 1."""
    share = min(max(share, 0.0), 1.0)
    low, high = (247, 251, 255), (8, 69, 148)
    r, g, b = (round(lo + (hi - lo) * share) for lo, hi in zip(low, high))
    return f"#{r:02x}{g:02x}{b:02x}"


def heatmap(shares: pd.DataFrame, marked: pd.DataFrame | None = None, title: str = "") -> str:
    """A heatmap of shares (rows x columns, 0-1), each cell labelled; ``marked`` cells get a frame."""
    longest = max((len(str(c)) for c in shares.columns), default=0)
    cell_w, cell_h, left, top = max(92, 7 * longest + 16), 30, 290, 64
    width = left + cell_w * len(shares.columns) + 10
    height = top + cell_h * len(shares.index) + 10
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" role="img" aria-label="{escape(title)}" font-family="system-ui, sans-serif" font-size="12">'
    ]
    for j, column in enumerate(shares.columns):
        x = left + j * cell_w + cell_w / 2
        parts.append(f'<text x="{x}" y="{top - 12}" text-anchor="middle" font-weight="600">{escape(str(column))}</text>')
    for i, row in enumerate(shares.index):
        y = top + i * cell_h
        parts.append(f'<text x="{left - 10}" y="{y + cell_h / 2 + 4}" text-anchor="end">{escape(str(row))}</text>')
        for j, column in enumerate(shares.columns):
            value = float(shares.at[row, column])
            x = left + j * cell_w
            frame = marked is not None and bool(marked.at[row, column])
            stroke = 'stroke="#d95f02" stroke-width="3"' if frame else 'stroke="#fff" stroke-width="1"'
            ink = "#fff" if value > 0.55 else "#1b1b1b"
            parts.append(f'<rect x="{x + 1}" y="{y + 1}" width="{cell_w - 2}" height="{cell_h - 2}" fill="{_mix(value)}" {stroke} rx="3"/>')
            parts.append(
                f'<text x="{x + cell_w / 2}" y="{y + cell_h / 2 + 4}" text-anchor="middle" fill="{ink}">'
                f'{value:.0%}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)


def bars(values: pd.Series, title: str = "", fmt: str = "{:.0%}") -> str:
    """Horizontal bars for a few labelled values (e.g. talk share per discipline)."""
    bar_h, left, width = 26, 170, 560
    top = 8
    most = float(values.max()) if len(values) and values.max() > 0 else 1.0
    height = top + bar_h * len(values) + 8
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'role="img" aria-label="{escape(title)}" font-family="system-ui, sans-serif" font-size="12">'
    ]
    for i, (label, value) in enumerate(values.items()):
        y = top + i * bar_h
        length = (width - left - 70) * float(value) / most
        parts.append(f'<text x="{left - 10}" y="{y + bar_h / 2 + 4}" text-anchor="end">{escape(str(label))}</text>')
        parts.append(f'<rect x="{left}" y="{y + 4}" width="{length:.1f}" height="{bar_h - 8}" fill="#4e79a7" rx="3"/>')
        parts.append(f'<text x="{left + length + 6:.1f}" y="{y + bar_h / 2 + 4}">{escape(fmt.format(value))}</text>')
    parts.append("</svg>")
    return "".join(parts)


def turn_taking(speakers: pd.DataFrame, follows: pd.DataFrame, group: str) -> str:
    """Who spoke right after whom in ``group``: people on a circle (area by words said), arrows as thick as the times.

    ``speakers`` (group, speaker, discipline, role, words) and ``follows`` (group,
    speaker, next, times) are :class:`chorus.analysis.dynamics.Dynamics`' tables,
    every group's. Facilitators are drawn in orange, silent members hollow.
    """
    title = f"Who spoke right after whom in {group}"
    follows = follows[follows["group"] == group]
    size, middle, ring = 520, 260, 175
    people = speakers[speakers["group"] == group].reset_index(drop=True)
    angle = {name: 2 * math.pi * i / max(len(people), 1) - math.pi / 2 for i, name in enumerate(people["speaker"])}
    place = {name: (middle + ring * math.cos(a), middle + ring * math.sin(a)) for name, a in angle.items()}
    most_words = max(float(people["words"].max()), 1.0) if len(people) else 1.0
    radius = {row.speaker: 8 + 22 * math.sqrt(row.words / most_words) for row in people.itertuples()}
    most_times = max(float(follows["times"].max()), 1.0) if len(follows) else 1.0
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {size} {size}" width="{size}" height="{size}" role="img" '
        f'aria-label="{escape(title)}" font-family="system-ui, sans-serif" font-size="12">',
        '<defs><marker id="head" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="9" markerHeight="9" markerUnits="userSpaceOnUse" orient="auto-start-reverse">'
        '<path d="M0,0 L10,5 L0,10 z" fill="#4a5a6a"/></marker></defs>',
    ]
    for row in follows.itertuples():
        if row.speaker not in place or row.next not in place:
            continue
        (x1, y1), (x2, y2) = place[row.speaker], place[row.next]
        length = math.hypot(x2 - x1, y2 - y1) or 1.0
        ux, uy = (x2 - x1) / length, (y2 - y1) / length
        nx, ny = -uy * 5, ux * 5  # each direction a little to its own side, so A->B and B->A both show
        start = (x1 + ux * radius[row.speaker] + nx, y1 + uy * radius[row.speaker] + ny)
        end = (x2 - ux * (radius[row.next] + 3) + nx, y2 - uy * (radius[row.next] + 3) + ny)
        parts.append(
            f'<line x1="{start[0]:.1f}" y1="{start[1]:.1f}" x2="{end[0]:.1f}" y2="{end[1]:.1f}" stroke="#4a5a6a" '
            f'stroke-opacity="0.75" stroke-width="{0.8 + 4 * row.times / most_times:.1f}" marker-end="url(#head)">'
            f'<title>{escape(str(row.speaker))} then {escape(str(row.next))}: {row.times} times</title></line>'
        )
    for row in people.itertuples():
        x, y = place[row.speaker]
        colour = "#d95f02" if row.role != "participant" else "#08519c"
        fill = "#fff" if row.words == 0 else colour
        discipline = "" if pd.isna(row.discipline) else f" ({row.discipline})"
        parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{radius[row.speaker]:.1f}" fill="{fill}" fill-opacity="0.85" stroke="{colour}" '
                     f'stroke-width="2"><title>{escape(str(row.speaker))}{escape(discipline)}: {row.words} words</title></circle>')
        below = y + radius[row.speaker] + 14 if y >= middle else y - radius[row.speaker] - 18
        parts.append(f'<text x="{x:.1f}" y="{below:.1f}" text-anchor="middle" font-weight="600">{escape(str(row.speaker))}</text>')
        parts.append(f'<text x="{x:.1f}" y="{below + 13:.1f}" text-anchor="middle" fill="#555">{escape(discipline.strip(" ()") or row.role)}</text>')
    parts.append("</svg>")
    return "".join(parts)
