"""The documentation site's references are generated from the code: every command, option and route is in them.

The CLI reference (docs/reference/cli.md) and the web API reference (docs/reference/web-api.md) are filled in as
the site builds by docs/hooks/reference.py. These tests render what that hook puts on each page and walk the
Typer app and the FastAPI app, failing on any command, argument, option or route the pages would lack. `make docs`
(run by .ci/run) builds the whole site with --strict.
"""

from __future__ import annotations

import importlib.util
import re
from types import ModuleType

import pytest
import typer
import yaml

from tests.helpers import ROOT, require

DOCS = ROOT / "docs"


@pytest.fixture(scope="module")
def hook() -> ModuleType:
    """The site's build hook, loaded as MkDocs loads it."""
    try:
        import mkdocs  # noqa: F401
    except ImportError:
        require("MkDocs", 'pip install -c constraints.txt -e ".[docs]"')
    spec = importlib.util.spec_from_file_location("docs_reference_hook", DOCS / "hooks" / "reference.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _site() -> dict:
    """mkdocs.yml, its Python tags (none are used) read as plain YAML."""
    return yaml.safe_load((ROOT / "mkdocs.yml").read_text())


def _commands(command: typer.main.click.Command, path: str) -> list[tuple[str, typer.main.click.Command]]:
    """Every command under ``command`` with its full path ("chorus codebook import"), groups included."""
    found = [(path, command)]
    for name, sub in sorted(getattr(command, "commands", {}).items()):
        if not sub.hidden:
            found += _commands(sub, f"{path} {name}")
    return found


def _section(reference: str, path: str) -> str:
    """The part of the CLI reference about one command: from its heading to the next command's heading."""
    heading = re.search(rf"^#+ +`{re.escape(path)}`$", reference, re.MULTILINE)
    assert heading, f"the CLI reference has no section for `{path}`"
    following = re.compile(r"^#+ +`chorus[^`]*`$", re.MULTILINE).search(reference, heading.end())
    return reference[heading.end(): following.start() if following else len(reference)]


def test_the_cli_reference_names_every_command_and_option(hook: ModuleType) -> None:
    from chorus.cli import app

    site = _site()
    assert "docs/hooks/reference.py" in site["hooks"]
    assert any(page == {"The chorus command": "reference/cli.md"} for part in site["nav"] if isinstance(part, dict)
               for pages in part.values() if isinstance(pages, list) for page in pages)
    assert hook.CLI_MARKER in (DOCS / "reference" / "cli.md").read_text()

    reference = hook.cli_reference()
    commands = _commands(typer.main.get_command(app), "chorus")
    assert len(commands) > 60  # every stage's commands and the groups of subcommands
    missing = []
    for path, command in commands[1:]:
        section = _section(reference, path)
        for param in command.params:
            if param.hidden if hasattr(param, "hidden") else False:
                continue
            names = [*param.opts, *param.secondary_opts] if param.param_type_name == "option" else [param.name]
            missing += [f"{path} {name}" for name in names if f"`{name}" not in section and f"/ {name}" not in section]
    assert not missing, f"missing from the CLI reference: {missing}"
    for option in ("--study",):  # the app's own options, before any command
        assert f"`{option}" in reference.split("## Commands")[0]


def test_the_web_reference_names_every_route_with_its_role(hook: ModuleType) -> None:
    schema, roles = hook.web_schema()
    reference = hook.render_routes(schema, roles)
    routes = [(path, method.upper()) for path, operations in schema["paths"].items() for method in operations]
    assert len(routes) > 50
    public = {path for path, method in routes if (path, method) not in roles}
    assert public == {"/login", "/reset", "/healthz"}  # every other route is named with the role it needs
    for path, method in routes:
        at = reference.index(f"### `{method} {path}`")
        role = roles.get((path, method))
        assert (f"**{role}**" if role else "Needs no role") in reference[at: at + 400], (method, path)
    assert reference.index("## The JSON API") < reference.index("`POST /api/codings`") < reference.index("## Pages")


def test_a_help_text_with_angle_brackets_stays_text(hook: ModuleType) -> None:
    assert hook._escaped("(<v Name> voice tags) `--out <path>`") == "(&lt;v Name> voice tags) `--out <path>`"


def test_docstring_examples_are_shown_as_code_and_roles_as_names() -> None:
    spec = importlib.util.spec_from_file_location("docs_docstrings", DOCS / "hooks" / "docstrings.py")
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except ImportError:
        require("griffe", 'pip install -c constraints.txt -e ".[docs]"')
    shown = module.readable("Use :func:`~chorus.open`.\n\n>>> [w.text for w in piece]   # doctest: +SKIP\n['a']\n\nThen.")
    assert shown == "Use `chorus.open`.\n\n```pycon\n>>> [w.text for w in piece]\n['a']\n```\n\nThen."
