"""Charts as inline SVG, so a report is one file that opens anywhere without a network."""

from __future__ import annotations

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
