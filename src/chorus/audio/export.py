"""A stored transcript written out with its times: WebVTT, SRT, Word or MAXQDA-style text.

Every format reads back into Chorus (``chorus import transcripts``) with the same
speakers and times, and each is what another tool expects: a ``.vtt`` names each
turn's speaker in a ``<v Name>`` voice tag (media players, ELAN), an ``.srt``
puts the name before the words, and ``.txt``/``.docx`` carry MAXQDA's
``#hh:mm:ss-d#`` time stamps at the start and end of each turn, which MAXQDA
links to the audio on import. A turn spoken while the diarizer heard another
voice too begins ``[overlap]`` (as noScribe marks it), and reads back as an
overlapped turn, the mark not part of its words.

>>> export_transcript(study, "FG01", "FG01.vtt")     # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path

from chorus.errors import ChorusError
from chorus.ingest.transcripts import OVERLAP, overlapped_turn
from chorus.study.lookup import find_transcript
from chorus.study.store import Study

FORMATS = (".vtt", ".srt", ".txt", ".docx")


def _split(seconds: float, per_second: int) -> tuple[int, int, int, int]:
    """Hours, minutes, seconds and the fraction in units of 1/``per_second``, rounded once."""
    units = int(round(seconds * per_second))
    hours, rest = divmod(units, 3600 * per_second)
    minutes, rest = divmod(rest, 60 * per_second)
    return hours, minutes, rest // per_second, rest % per_second


def clock(seconds: float, separator: str = ".") -> str:
    """``hh:mm:ss.mmm`` (WebVTT) or, with ``separator=","``, SRT's ``hh:mm:ss,mmm``.

    >>> clock(3723.5)
    '01:02:03.500'
    """
    hours, minutes, whole, millis = _split(seconds, 1000)
    return f"{hours:02d}:{minutes:02d}:{whole:02d}{separator}{millis:03d}"


def maxqda_stamp(seconds: float) -> str:
    """MAXQDA's time stamp, ``#hh:mm:ss-d#`` (tenths of a second).

    >>> maxqda_stamp(83.46)
    '#00:01:23-5#'
    """
    hours, minutes, whole, tenths = _split(seconds, 10)
    return f"#{hours:02d}:{minutes:02d}:{whole:02d}-{tenths}#"


def _cue_text(text: str) -> str:
    return " ".join(text.split()).replace("-->", "->")


def export_transcript(study: Study, name: str, path: str | Path) -> Path:
    """Write transcript ``name`` to ``path`` in the format its suffix names (.vtt, .srt, .txt, .docx)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise ChorusError(f"cannot write {path.name}: transcripts are exported as {', '.join(FORMATS)}")
    with study.reading() as session:
        transcript = find_transcript(session, name)
        turns = [
            (
                t.participant.pseudonym,
                (f"{OVERLAP} " if overlapped_turn(transcript.media, t.ordinal, t.start_time, t.end_time) else "") + transcript.text[t.start : t.end],
                t.start_time,
                t.end_time,
            )
            for t in transcript.turns
        ]
    untimed = [i for i, (_, _, start, end) in enumerate(turns, start=1) if start is None or end is None]
    if untimed and suffix in (".vtt", ".srt"):
        raise ChorusError(
            f"transcript {name!r} has {len(untimed)} turn(s) without times (first: turn {untimed[0]}); "
            "subtitles need times: export as .txt or .docx"
        )
    if suffix == ".vtt":
        cues = [f"{clock(s)} --> {clock(e)}\n<v {who}>{_cue_text(text)}" for who, text, s, e in turns]
        path.write_text("WEBVTT\n\n" + "\n\n".join(cues) + "\n", encoding="utf-8")
    elif suffix == ".srt":
        cues = [
            f"{n}\n{clock(s, ',')} --> {clock(e, ',')}\n{who}: {_cue_text(text)}"
            for n, (who, text, s, e) in enumerate(turns, start=1)
        ]
        path.write_text("\n\n".join(cues) + "\n", encoding="utf-8")
    else:
        lines = [
            (f"{maxqda_stamp(s)} " if s is not None else "") + f"{who}: {text}" + (f" {maxqda_stamp(e)}" if e is not None else "")
            for who, text, s, e in turns
        ]
        if suffix == ".txt":
            path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        else:
            from docx import Document

            document = Document()
            document.add_heading(name, level=1)
            for line in lines:
                document.add_paragraph(line)
            document.save(str(path))
    return path
