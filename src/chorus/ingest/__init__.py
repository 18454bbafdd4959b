"""Getting a study's material in: roster, groups, codebook and transcripts from researchers' files."""

from chorus.ingest.codebook import import_codebook
from chorus.ingest.roster import ImportSummary, Problem, RosterProblems, add_group, edit_group, edit_participant, import_groups, import_roster, import_roster_and_groups, roster_preview, roster_problems
from chorus.ingest.transcripts import import_transcripts, parse, remove_transcript

__all__ = [
    "ImportSummary",
    "add_group",
    "edit_group",
    "edit_participant",
    "import_codebook",
    "import_groups",
    "import_roster",
    "import_roster_and_groups",
    "Problem",
    "RosterProblems",
    "roster_preview",
    "roster_problems",
    "import_transcripts",
    "parse",
    "remove_transcript",
]
