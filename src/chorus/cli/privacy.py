"""De-identification: ``chorus deid``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from chorus import privacy, report
from chorus.cli.common import console, open_study, show

deid_app = typer.Typer(help="De-identification: find protected health information, review it, replace it with tags.", no_args_is_help=True)
ModelOption = Annotated[Optional[str], typer.Option(help="An installed spaCy pipeline (package or folder) instead of the packaged small English model.")]


@deid_app.command("find")
def deid_find(
    out: Annotated[Path, typer.Option("--out", help="The review table to write (.csv/.xlsx); it holds the protected text: keep it safe.")],
    transcript: Annotated[Optional[list[str]], typer.Option(help="Only these transcripts (repeat the option).")] = None,
    model: ModelOption = None,
) -> None:
    """Find names, dates, ages over 89, places, institutions, phone numbers, e-mails and record numbers, for review."""
    with open_study() as study:
        findings = privacy.find(study, transcripts=transcript, model=model)
    report.save_table(findings, out)
    counts = findings.groupby("kind").size().rename("findings").reset_index() if not findings.empty else findings
    show(counts, "Findings by kind (the text is only in the review file)")
    console.print(f"review each row of {out}: set 'decision' to accept or reject (and edit 'tag' if you like), then: chorus deid apply {out} --key FILE")


@deid_app.command("apply")
def deid_apply(
    review: Annotated[Path, typer.Argument(help="The reviewed table from chorus deid find.")],
    key: Annotated[Path, typer.Option(help="Where to write the originals (a new file outside the study folder).")],
    accept_all: Annotated[bool, typer.Option(help="Accept findings left without a decision (only after reading them all).")] = False,
) -> None:
    """Replace the accepted findings with their tags; codings follow the text; originals go to the key file."""
    with open_study() as study:
        counts = privacy.apply(study, review, key, accept_all=accept_all)
    console.print(f"replaced {sum(counts.values())} findings ({', '.join(f'{k} {v}' for k, v in sorted(counts.items()))}); the key is {key}")


@deid_app.command("restore")
def deid_restore(key: Annotated[Path, typer.Option(help="The key file chorus deid apply wrote.")]) -> None:
    """Put the original words back from the key file."""
    with open_study() as study:
        restored = privacy.restore(study, key)
    console.print(f"restored {restored} transcripts from {key}")


@deid_app.command("evaluate")
def deid_evaluate(
    labelled: Annotated[Path, typer.Argument(help="A labelled set: one utterance per line, protected text marked {{KIND:text}}.")],
    model: ModelOption = None,
) -> None:
    """Precision and recall of de-identification on a labelled set (tests/data/deid/labelled.txt is Chorus's)."""
    from chorus.privacy.evaluate import evaluate

    show(evaluate(labelled, model).round(3), f"De-identification on {labelled.name}")


