"""Griffe extension: Chorus's docstrings made ready for the site.

Chorus's docstrings keep their examples as doctests in the text, not under an ``Examples:`` heading, and name other
objects with Sphinx roles (``:func:`open```). mkdocstrings would set the doctests as prose (and Markdown would read
``[w.text for w in piece]`` as a link) and print the roles as they are. So each run of lines from a ``>>>`` line to
the next blank line becomes a fenced ``pycon`` block, its indentation kept and its ``# doctest:`` flags dropped, and
a role is dropped before the code it names.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

ROLE = re.compile(r":(?:py:)?(?:func|class|meth|data|mod|attr|exc|obj|const):`~?")
DOCTEST_FLAGS = re.compile(r"\s*#\s*doctest:.*$")


def fenced(text: str) -> str:
    """``text`` with each doctest run wrapped in a ```` ```pycon ```` fence, without its doctest flags."""
    out: list[str] = []
    indent: str | None = None
    in_fence = False
    for line in text.split("\n"):
        stripped = line.lstrip()
        if stripped.startswith("```"):
            in_fence = not in_fence
        if indent is None and not in_fence and stripped.startswith(">>>"):
            indent = line[: len(line) - len(stripped)]
            out.append(f"{indent}```pycon")
        elif indent is not None and not stripped:
            out.append(f"{indent}```")
            indent = None
        out.append(DOCTEST_FLAGS.sub("", line) if indent is not None else line)
    if indent is not None:
        out.append(f"{indent}```")
    return "\n".join(out)


def readable(text: str) -> str:
    """A docstring as the site shows it: doctests fenced (:func:`fenced`), Sphinx roles dropped."""
    text = ROLE.sub("`", text)
    return fenced(text) if ">>>" in text else text


class Docstrings(griffe.Extension):
    """Make every docstring griffe reads :func:`readable`."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = readable(obj.docstring.value)
