"""What every stage's commands share: the Typer app, the consoles, opening the study, showing a table, a progress bar."""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import Annotated, Optional

import pandas as pd
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

import chorus
from chorus import report
from chorus.errors import ChorusError
from chorus.study.counting import HELP as BASIS_HELP
from chorus.study.counting import counting
from chorus.study.store import Study

app = typer.Typer(
    help="Chorus: take a focus-group study from roster and transcripts to themes by discipline.",
    no_args_is_help=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)

console = Console()
errors = Console(stderr=True)
_state: dict[str, Path] = {"study": Path(".")}

StudyOption = Annotated[Optional[Path], typer.Option("--study", help="The study folder (default: the current folder or the nearest above it).")]
CoderOption = Annotated[str, typer.Option("--coder", help="Who is coding (default: your login name).")]
OutOption = Annotated[Optional[Path], typer.Option("--out", help="Also save the table: .csv or .xlsx.")]
BasisOption = Annotated[str, typer.Option("--basis", help=BASIS_HELP)]
MapOption = Annotated[Optional[str], typer.Option("--map", help="Rename columns: 'Their name=id,Name=pseudonym'.")]


def say_basis(study: Study, basis: str) -> None:
    """Print, under a finding, which coding it counted (:mod:`chorus.study.counting`)."""
    with study.reading() as session:
        line = counting(session, basis).line
    console.print(f"[dim]{line}[/dim]", highlight=False)


def login_name() -> str:
    """Who is coding when --coder is not given: the login name."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "coder"


@app.callback()
def _main(study: StudyOption = None) -> None:
    """Take --study before any command."""
    if study is not None:
        _state["study"] = study


def open_study() -> Study:
    """The study the command acts on (--study, or the current folder or the nearest above it)."""
    return chorus.open(_state["study"])


def column_mapping(text: str | None) -> dict[str, str] | None:
    """``--map 'Their name=id,Name=pseudonym'`` as a dict, or None without one."""
    if not text:
        return None
    pairs = [part.split("=", 1) for part in text.split(",") if part.strip()]
    if any(len(p) != 2 for p in pairs):
        raise ChorusError(f"--map {text!r} should read 'their column=our column,...'")
    return {a.strip(): b.strip() for a, b in pairs}


def show(
    frame: pd.DataFrame, title: str | None = None, out: Path | None = None, index: bool = False,
    limit: int = 200, saved: pd.DataFrame | None = None,
) -> None:
    """Print a DataFrame as a rich table and, with --out, save it (or the fuller ``saved`` table)."""
    shown = frame.reset_index() if index else frame
    table = Table(title=title, show_lines=False, header_style="bold")
    for column in shown.columns:
        numeric = pd.api.types.is_numeric_dtype(shown[column])
        table.add_column(str(column), justify="right" if numeric else "left", overflow="fold")
    for row in shown.head(limit).itertuples(index=False):
        table.add_row(*("" if v is None or (isinstance(v, float) and pd.isna(v)) else str(v) for v in row))
    console.print(table)
    if len(shown) > limit:
        console.print(f"... {len(shown) - limit} more rows (use --out to save them all)")
    if out is not None:
        report.save_table(saved if saved is not None else shown, out)
        console.print(f"saved {out}")


def progress_bar() -> Progress:
    """A progress bar on standard error (tables go to standard output), gone when done."""
    return Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=errors, transient=True
    )


