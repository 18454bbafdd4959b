"""The ``chorus`` command: a study from roster and transcripts to themes by discipline.

Every command acts on the study in the current folder (or the one given with
``--study PATH``) and is a thin shell over the library: what it prints, Python
users get as a pandas DataFrame from the same function. One module per stage a
study flows through, as in the library; this one puts them together, in the
order ``chorus --help`` lists them.
"""

from __future__ import annotations

import gc
import sys

from chorus.cli import analysis, assist, coding, exchange, privacy, rigour, study, transcripts, web
from chorus.cli.common import app, errors
from chorus.errors import ChorusError

for stage in (study, transcripts, coding, analysis, assist, rigour, web, exchange):
    app.registered_commands.extend(stage.commands.registered_commands)

for sub_app, name in [
    (study.roster_app, "roster"), (study.groups_app, "groups"), (transcripts.transcripts_app, "transcripts"),
    (coding.codebook_app, "codebook"), (coding.codings_app, "codings"), (coding.memo_app, "memo"), (transcripts.audio_app, "audio"), (assist.guide_app, "guide"), (assist.suggest_app, "suggest"),
    (analysis.stances_app, "stances"), (privacy.deid_app, "deid"), (web.users_app, "users"),
]:
    app.add_typer(sub_app, name=name)

__all__ = ["app", "main"]


def main() -> None:
    """Run the CLI; bad input ends with a one-line reason and exit status 2."""
    # The ~200,000 objects the imports made live until the command ends: leave them out of every garbage collection
    # after this. Collecting them again and again cost `chorus memo list` 0.5 s of its 3.0.
    gc.freeze()
    try:
        app()
    except ChorusError as exc:
        errors.print(f"error: {exc.for_command_line()}", markup=False, highlight=False, soft_wrap=True)
        sys.exit(2)
    except OSError as exc:
        if exc.filename is None:  # not about a path: a fault to see whole
            raise
        # a path given that cannot be read or written (a folder where a file was meant, no permission, a full disk)
        paths = f"{exc.filename} -> {exc.filename2}" if exc.filename2 else exc.filename  # a move names both ends
        errors.print(f"error: {paths}: {exc.strerror or exc}", markup=False, highlight=False, soft_wrap=True)
        sys.exit(2)
