"""AI-assisted coding, locally: ``chorus suggest``, ``accept``, ``reject``."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Optional

import typer

from chorus.assist import candidates as assist_candidates
from chorus.assist import llm
from chorus.assist import suggest as suggestions
from chorus.assist.candidates import candidate_codes
from chorus.cli.common import CoderOption, OutOption, console, login_name, open_study, show
from chorus.errors import ChorusError
from chorus.ingest.files import read_table

#: This stage's top-level commands (``chorus COMMAND``), listed by :mod:`chorus.cli` in its order.
commands = typer.Typer()

suggest_app = typer.Typer(help="AI-assisted coding, locally: candidate codes from the data, coding suggestions.", no_args_is_help=True)


YesOption = Annotated[bool, typer.Option("--yes", help="Agree to what the language model would be sent without being asked.")]


def _agree(yes: bool) -> Callable[[str], bool]:
    def confirm(disclosure: str) -> bool:
        console.print(disclosure)
        return yes or (sys.stdin.isatty() and typer.confirm("Send it?", default=False))

    return confirm


@suggest_app.command("llm")
def suggest_llm(
    url: Annotated[Optional[str], typer.Option(help="An OpenAI-compatible endpoint, e.g. http://127.0.0.1:8080/v1 (llama.cpp, vLLM).")] = None,
    model: Annotated[Optional[str], typer.Option(help="The model name the server expects.")] = None,
    key_variable: Annotated[Optional[str], typer.Option(help="The environment variable holding an API key (the key is never stored).")] = None,
    off: Annotated[bool, typer.Option(help="Turn the language model off again.")] = False,
) -> None:
    """Name the (local) language model used for candidate labels and theme summaries; off by default."""
    with open_study() as study:
        if off:
            llm.forget(study)
            console.print("language model off")
            return
        if not url or not model:
            raise ChorusError("give --url and --model (or --off)")
        endpoint = llm.configure(study, url, model, key_variable)
    console.print(f"language model: {endpoint.model} at {endpoint.url} ({'this machine' if endpoint.local else 'another machine: ' + endpoint.host})")


@suggest_app.command("codes")
def suggest_codes(
    include_coded: Annotated[bool, typer.Option(help="Cluster every segment, not only the uncoded ones.")] = False,
    clusters: Annotated[Optional[int], typer.Option(help="How many candidates (default: about the square root of half the segments).")] = None,
    seed: Annotated[int, typer.Option(help="Random seed: the same seed gives the same candidates.")] = 0,
    llm_labels: Annotated[bool, typer.Option(help="Also ask the configured language model for a name for each (says what it sends first).")] = False,
    yes: YesOption = False,
    out: OutOption = None,
) -> None:
    """Candidate codes: clusters of similar segments with their distinctive words, sources and central quotes."""
    with open_study() as study:
        with console.status("embedding and clustering segments"):
            frame = candidate_codes(study, include_coded=include_coded, k=clusters, seed=seed)
        if llm_labels:
            frame = llm.label_candidates(study, frame, _agree(yes))
    columns = ["candidate", *(["llm_label"] if "llm_label" in frame.columns else []), "label", "size", "disciplines", "groups"]
    show(frame[columns], "Candidate codes (quotes and segments: --out)", out, saved=frame)
    console.print("make one a code: chorus suggest adopt CANDIDATES.csv --candidate N --name NAME [--segment ID ...]")


@suggest_app.command("adopt")
def suggest_adopt(
    candidates: Annotated[Path, typer.Argument(help="The table chorus suggest codes --out wrote.")],
    candidate: Annotated[int, typer.Option(help="The candidate's number.")],
    name: Annotated[str, typer.Option(help="The new code's name.")],
    segment: Annotated[Optional[list[str]], typer.Option(help="Only these of its segments (repeat; default: all of them).")] = None,
    parent: Annotated[Optional[str], typer.Option(help="The code to put it under.")] = None,
    coder: CoderOption = "",
) -> None:
    """Make a candidate a code and code its segments (those you ticked)."""
    rows = [r for r in read_table(candidates) if str(r.values.get("candidate")) == str(candidate)]
    if not rows:
        raise ChorusError(f"{candidates}: no candidate {candidate}")
    members = segment or str(rows[0].values.get("segments", "")).split()
    with open_study() as study:
        coded = assist_candidates.accept(study, members, name, coder or login_name(), parent)
    console.print(f"code {name!r} created with {coded} codings")


@suggest_app.command("codings")
def suggest_codings(
    code: Annotated[Optional[str], typer.Option(help="The code (default: every code with enough examples).")] = None,
    threshold: Annotated[float, typer.Option(help="Lowest confidence to suggest (0-1).")] = suggestions.THRESHOLD,
    out: OutOption = None,
) -> None:
    """Suggest where a code applies, with a confidence and the coded example each resembles."""
    with open_study() as study, console.status("learning from the codings"):
        frame = suggestions.suggest(study, code=code, threshold=threshold)
    show(frame[["suggestion", "code", "confidence", "speaker", "text"]], "Suggestions (accept: chorus accept N; reject: chorus reject N)", out, saved=frame)


@suggest_app.command("summaries")
def suggest_summaries(
    code: Annotated[Optional[list[str]], typer.Option(help="Only these codes (repeat).")] = None,
    yes: YesOption = False,
    out: OutOption = None,
) -> None:
    """Theme summaries from each code's passages, by the configured language model (says what it sends first)."""
    with open_study() as study:
        frame = llm.summaries(study, _agree(yes), codes=code)
    if frame.empty:
        console.print("nothing sent")
        return
    show(frame, "Theme summaries (by the language model: check them against the passages)", out)


@commands.command("accept")
def accept_command(numbers: Annotated[list[int], typer.Argument(help="Suggestion numbers.")], coder: CoderOption = "") -> None:
    """Accept suggestions: each becomes a coding by you; the decision is recorded."""
    with open_study() as study:
        done = suggestions.decide(study, numbers, "accept", coder or login_name())
    console.print(f"accepted {done} suggestions")


@commands.command("reject")
def reject_command(numbers: Annotated[list[int], typer.Argument(help="Suggestion numbers.")], coder: CoderOption = "") -> None:
    """Reject suggestions; they are not proposed again, and the decision is recorded."""
    with open_study() as study:
        done = suggestions.decide(study, numbers, "reject", coder or login_name())
    console.print(f"rejected {done} suggestions")


