"""Chorus: focus-group studies from roster and transcripts to themes by discipline.

>>> import chorus
>>> study = chorus.open("pc-study")                                   # doctest: +SKIP
>>> chorus.analysis.matrix(study, by="discipline", count="participants")  # doctest: +SKIP
>>> chorus.analysis.themes(study)                                     # doctest: +SKIP
"""

from chorus import analysis, coding, ingest
from chorus.errors import ChorusError, InputError
from chorus.study import Study, init, open

__version__ = "0.1.0"
__all__ = ["ChorusError", "InputError", "Study", "analysis", "coding", "ingest", "init", "open"]
