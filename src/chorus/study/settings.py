"""What a study says about itself that its methods report: the analysis approach.

Kept in the study's settings (audited like every change), so the report, the
Word draft and the web app all say the same.

>>> set_approach(study, "reflexive thematic analysis (Braun & Clarke 2006)")   # doctest: +SKIP
>>> approach(study)                                                           # doctest: +SKIP
'reflexive thematic analysis (Braun & Clarke 2006)'
"""

from __future__ import annotations

from chorus.errors import ChorusError
from chorus.study.models import StudyInfo
from chorus.study.store import Study

#: The approach a study that has not said otherwise is reported with.
APPROACH = "inductive content analysis"


def approach(study: Study) -> str:
    """How the study's data were analysed, as its methods say it."""
    with study.reading() as session:
        info = session.get(StudyInfo, 1)
        return str((info.settings or {}).get("approach") or APPROACH) if info else APPROACH


def set_approach(study: Study, text: str) -> None:
    """Say how the study's data were analysed ("reflexive thematic analysis", "framework analysis"), for its methods."""
    text = " ".join(text.split())
    if not text or len(text) > 200:
        raise ChorusError("say the analysis approach in 1 to 200 characters, e.g. 'reflexive thematic analysis'")
    with study.transaction() as session:
        info = session.get(StudyInfo, 1)
        info.settings = {**(info.settings or {}), "approach": text}
