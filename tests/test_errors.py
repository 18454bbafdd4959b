"""Errors speak each caller's language: an argument the caller should change is named as
Python spells it in Python and as the command spells it on the command line."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from chorus.errors import ChorusError

SRC = Path(__file__).resolve().parents[1] / "src" / "chorus"


def test_an_argument_is_spelled_for_python_and_for_the_command_line():
    error = ChorusError(
        "{base} is a number of groups; {include_coded} clusters all; {threshold} too high",
        arguments={"base": None, "include_coded": True, "threshold": 0.05},
    )
    assert str(error) == "base is a number of groups; include_coded=True clusters all; threshold=0.05 too high"
    assert error.for_command_line() == "--base is a number of groups; --include-coded clusters all; --threshold 0.05 too high"


def test_a_message_without_arguments_keeps_its_braces():
    assert str(ChorusError("a {literal} brace")) == "a {literal} brace"


def _raised_messages() -> list[tuple[str, int, str, set[str]]]:
    """The message of every error the library raises (the web app and the CLI are shells over it), with the
    snake_case names the caller could have passed there: the enclosing function's parameters and the
    enclosing class's fields."""
    found = []

    def visit(node: ast.AST, names: frozenset[str], where: str) -> None:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            arguments = node.args
            names = names | {a.arg for a in [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]}
        elif isinstance(node, ast.ClassDef):
            names = names | {s.target.id for s in node.body if isinstance(s, ast.AnnAssign) and isinstance(s.target, ast.Name)}
        elif isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call) and node.exc.args:
            message = node.exc.args[0]
            texts = [message.value] if isinstance(message, ast.Constant) else [
                part.value for part in ast.walk(message) if isinstance(part, ast.Constant) and isinstance(part.value, str)
            ]
            for text in texts:
                if isinstance(text, str):
                    found.append((where, node.lineno, text, {n for n in names if re.fullmatch(r"[a-z]+(_[a-z]+)+", n)}))
        for child in ast.iter_child_nodes(node):
            visit(child, names, where)

    for path in SRC.rglob("*.py"):
        if {"web", "cli"} & set(path.relative_to(SRC).parts):  # the shells spell options their own way
            continue
        visit(ast.parse(path.read_text(), str(path)), frozenset(), str(path.relative_to(SRC)))
    return found


def test_no_library_error_names_a_python_parameter_where_the_command_line_would_show_it():
    messages = _raised_messages()
    assert len(messages) > 100  # the scan sees the library's errors
    offending = []
    for where, line, text, parameters in messages:
        bare = re.sub(r"\{[^{}]*\}", "", text)  # {name} placeholders are spelled per caller
        for word in re.findall(r"\b[a-z]+(?:_[a-z]+)+\b", bare):
            if word in parameters:
                offending.append(f"{where}:{line}: {word!r} in {text!r}")
    assert not offending, "write {name} with arguments= instead:\n" + "\n".join(offending)


@pytest.mark.parametrize("call", ["include_coded", "accept_all"])
def test_the_known_cases_use_placeholders(call: str):
    texts = [text for _, _, text, _ in _raised_messages()]
    assert any("{" + call + "}" in t for t in texts)

