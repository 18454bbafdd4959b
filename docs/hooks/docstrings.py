"""Griffe extension: a docstring's doctest examples (``>>>`` lines and their output) shown as Python code.

Chorus's docstrings keep their examples as doctests in the text, not under an ``Examples:`` heading, so
mkdocstrings would set them as prose (and Markdown would read ``[w.text for w in piece]`` as a link). Each run of
lines from a ``>>>`` line to the next blank line becomes a fenced ``pycon`` block, its indentation kept.
"""

from __future__ import annotations

from typing import Any

import griffe


def fenced(text: str) -> str:
    """``text`` with each doctest run wrapped in a ```` ```pycon ```` fence."""
    lines, out, indent = text.split("\n"), [], None
    in_fence = False
    for line in lines:
        stripped = line.lstrip()
        if stripped.startswith("```"):
            in_fence = not in_fence
        if indent is None and not in_fence and stripped.startswith(">>>"):
            indent = line[: len(line) - len(stripped)]
            out.append(f"{indent}```pycon")
        elif indent is not None and not stripped:
            out.append(f"{indent}```")
            indent = None
        out.append(line)
    if indent is not None:
        out.append(f"{indent}```")
    return "\n".join(out)


class Doctests(griffe.Extension):
    """Fence the doctests of every docstring griffe reads."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None and ">>>" in obj.docstring.value:
            obj.docstring.value = fenced(obj.docstring.value)
