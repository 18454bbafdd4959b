"""MkDocs hook: the command and web app references, generated from the code itself as the site builds.

``reference/cli.md``'s ``<!-- commands -->`` marker becomes every ``chorus`` command (:func:`cli_reference`).
For the web app, the app is assembled over an empty study in a scratch folder, FastAPI writes its OpenAPI schema, and the hook
adds that schema to the site as ``reference/openapi.json`` and renders it, route by route with the role each
needs (``chorus.web.app.ROUTE_ROLES``), where ``reference/web-api.md`` holds the ``<!-- routes -->`` marker.
Nothing is copied by hand, so a route added to the app appears in the reference at the next build.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File, Files
from mkdocs.structure.pages import Page

MARKER, CLI_MARKER, CLI_PAGE = "<!-- routes -->", "<!-- commands -->", "reference/cli.md"
_schema: dict[str, Any] = {}
_roles: dict[tuple[str, str], str] = {}


def web_schema() -> tuple[dict[str, Any], dict[tuple[str, str], str]]:
    """The OpenAPI schema of ``chorus serve``'s app for one study, and the lowest role of each (path, method)."""
    import chorus
    from chorus.web.app import ROUTE_ROLES, create_app

    with tempfile.TemporaryDirectory() as scratch:
        study = chorus.init(Path(scratch) / "study")
        try:
            schema = create_app(study).openapi()
        finally:
            study.close()
    # the app's table names a path's converters ("/api/codes/{path:path}"), OpenAPI its parameters alone
    return schema, {(re.sub(r"\{(\w+):\w+\}", r"{\1}", path), method): role for (path, method), role in ROUTE_ROLES.items()}


def on_files(files: Files, config: MkDocsConfig) -> Files:
    """Build the schema once per build and publish it beside the page that renders it."""
    global _schema, _roles
    _schema, _roles = web_schema()
    files.append(File.generated(config, "reference/openapi.json", content=json.dumps(_schema, indent=1)))
    return files


def _type(schema: dict[str, Any]) -> str:
    """A parameter's or field's type in a word or two, from its JSON schema."""
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[-1]
    if "anyOf" in schema:
        return " or ".join(_type(option) for option in schema["anyOf"])
    if schema.get("type") == "array":
        return f"list of {_type(schema.get('items', {}))}"
    return schema.get("format") or schema.get("type", "any")


def _cell(text: str) -> str:
    """Text made safe for one Markdown table cell."""
    return " ".join(text.split()).replace("|", "\\|")


def _operation(path: str, method: str, operation: dict[str, Any], schema: dict[str, Any], role: str | None) -> list[str]:
    """One route as a heading, the role it needs, its description, parameters, body fields and answers."""
    who = f"needs a signed-in **{role}** (or a higher role)" if role else "needs no role"
    lines = [f"### `{method.upper()} {path}`", "", f"{who.capitalize()}.", ""]
    if operation.get("description"):
        lines += [operation["description"].strip(), ""]
    fields = [(p["name"], p["in"], p.get("required", False), _type(p.get("schema", {}))) for p in operation.get("parameters", [])]
    body = operation.get("requestBody", {}).get("content", {})
    for kind, content in body.items():
        ref = content.get("schema", {}).get("$ref", "")
        model = schema.get("components", {}).get("schemas", {}).get(ref.rsplit("/", 1)[-1], {})
        required = set(model.get("required", []))
        fields += [(name, f"body ({kind})", name in required, _type(field)) for name, field in model.get("properties", {}).items()]
    if fields:
        lines += ["| name | in | required | type |", "|---|---|---|---|"]
        lines += [f"| `{name}` | {where} | {'yes' if required else 'no'} | {_cell(kind)} |" for name, where, required, kind in fields]
        lines.append("")
    answers = ", ".join(f"{code} {_cell(answer.get('description', ''))}" for code, answer in operation.get("responses", {}).items())
    lines += [f"Answers: {answers}.", ""]
    return lines


def render_routes(schema: dict[str, Any], roles: dict[tuple[str, str], str]) -> str:
    """Every route of the schema as Markdown: the JSON API (``/api/...``) first, then pages and downloads."""
    api, pages = ["## The JSON API", ""], ["## Pages, forms and downloads", ""]
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            (api if "/api/" in path else pages).extend(_operation(path, method, operation, schema, roles.get((path, method.upper()))))
    return "\n".join(api + pages)


def on_page_markdown(markdown: str, page: Page, config: MkDocsConfig, files: Files) -> str:
    """Put the rendered routes and commands where the reference pages ask for them."""
    if MARKER in markdown:
        markdown = markdown.replace(MARKER, render_routes(_schema, _roles))
    if CLI_MARKER in markdown:
        markdown = markdown.replace(CLI_MARKER, cli_reference())
    return markdown


def _escaped(markdown: str) -> str:
    """Markdown with ``<`` outside code spans written ``&lt;``: help such as "(<v Name> voice tags)" is text, not a tag."""
    return "".join(part if part.startswith("`") else part.replace("<", "&lt;") for part in re.split(r"(`[^`]*`)", markdown))


def cli_reference() -> str:
    """Every ``chorus`` command with its arguments and options, as Markdown tables, from the Typer app itself.

    Typer writes the app's Markdown docs (``typer chorus.cli utils docs``) and mkdocs-typer2 sets each command's
    arguments and options as tables. The page's own Markdown pass renders it, once: mkdocs-typer2's directive
    renders to HTML and hands that to Markdown again, which shows ``<path>`` as a tag and ``[OPTIONS]`` as a link.
    """
    from mkdocs_typer2.pretty import parse_markdown_to_tree, tree_to_markdown

    typer_docs = subprocess.run([sys.executable, "-m", "typer", "chorus.cli", "utils", "docs", "--name", "chorus"],
                                capture_output=True, text=True, check=False)
    if typer_docs.returncode != 0 or "chorus init" not in typer_docs.stdout:
        raise PluginError(f"{CLI_PAGE}: Typer could not write the commands' docs:\n{typer_docs.stderr}")
    tables = tree_to_markdown(parse_markdown_to_tree(typer_docs.stdout))
    tables = tables.split("\n", 1)[1] if tables.startswith("# ") else tables  # the page has its own title
    tables = re.sub(r"^#+ (Arguments)\s*\n+\*No arguments available\*\s*\n", "", tables, flags=re.MULTILINE)
    # a command's parts as labels, not headings, so that the table of contents lists the commands alone
    tables = re.sub(r"^#+ (Usage|Arguments|Options)\s*$", r"**\1**\n", tables, flags=re.MULTILINE)
    return _escaped(tables)
