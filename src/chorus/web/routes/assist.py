"""The AI queue, locally: suggestions one at a time (accept or reject, by button or key), candidate codes from
the uncoded data (adopt as a new code, merge into one, dismiss), and the optional language model's names for
them and summaries of the themes, after showing what would be sent where; and how much the AI finds on the
study's own codings (``chorus suggest evaluate``), as a background job.

Every decision goes through :mod:`chorus.assist`'s own calls (the ones ``chorus
accept``, ``chorus reject`` and ``chorus suggest adopt`` make), under the signed-in
coder's name. While a blind round hides others' codings from a coder, their queue
is closed: suggestions are learned from everyone's codings.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Form, HTTPException, Request, Response
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field

from chorus.assist import candidates as candidate_codes
from chorus.assist import jobs as background
from chorus.assist import llm
from chorus.assist import suggest as suggestions
from chorus.assist.embedders import DEFAULT, EMBEDDERS
from chorus.coding import codes as codebook
from chorus.errors import ChorusError
from chorus.study.lookup import PATH_SEPARATOR
from chorus.study.store import Study, acting_as
from chorus.web.pages import CoderRole, StudyOf, Whole, back_to, in_the_browser, named_in_path, render
from chorus.web.security import Viewer
from chorus.words import counted

router = APIRouter()


BLIND = "a blind round is open: the AI queue learns from everyone's codings, so it waits until the round is closed"


def _not_blind(viewer: Viewer) -> None:
    if viewer.blind:
        raise HTTPException(403, BLIND)


@router.get("/suggestions", response_class=HTMLResponse)
def suggestions_page(request: Request, study: StudyOf, viewer: CoderRole, order: str = "confidence") -> Response:
    """The suggestions waiting for a decision, one at a time (a: accept, r: reject, j/k: next/previous), and the run making them."""
    if viewer.blind:
        return render(request, "assist/suggestions.html", viewer, status=403, queue=[], codes=[], order=order, error=BLIND, run=None)
    return _queue_page(request, study, viewer, order)


def _queue_page(request: Request, study: Study, viewer: Viewer, order: str, status: int = 200, **shown: Any) -> Response:
    if order not in suggestions.ORDERS:
        raise HTTPException(404, f"order the queue by {' or '.join(suggestions.ORDERS)}")
    return render(request, "assist/suggestions.html", viewer, status=status, queue=suggestions.pending(study, order=order).to_dict("records"),
                  codes=list(codebook.codebook(study)["path"]), order=order, run=background.latest_suggestions(study), **shown)


@router.post("/suggestions", response_class=HTMLResponse)
def make_suggestions(
    request: Request, study: StudyOf, viewer: CoderRole, code: str = Form("", max_length=400), threshold: str = Form("", max_length=10),
) -> Response:
    """Queue a run that learns from the codings and proposes new ones (as ``chorus suggest codings``); the page watches it.

    A blank threshold leaves each code its own, calibrated on the coders' decisions.
    """
    _not_blind(viewer)
    try:
        lowest = float(threshold) if threshold.strip() else None
        background.submit_suggestions(study, code or None, lowest, viewer.name)
    except ValueError:
        return _queue_page(request, study, viewer, "confidence", status=400, error=f"the lowest confidence is a number between 0 and 1, not {threshold!r}")
    except ChorusError as exc:
        return _queue_page(request, study, viewer, "confidence", status=400, threshold=threshold, error=in_the_browser(exc))
    return back_to(request, "/suggestions")


@router.post("/api/suggestions/{suggestion}/{decision}")
def decide(suggestion: Whole, decision: str, study: StudyOf, viewer: CoderRole) -> dict[str, Any]:
    """Accept (the passage is coded, by you) or reject one suggestion, as ``chorus accept`` and ``chorus reject`` do."""
    _not_blind(viewer)
    if decision not in ("accept", "reject"):
        raise HTTPException(404, "decide accept or reject")
    with acting_as(viewer.name):
        suggestions.decide(study, [suggestion], decision, viewer.name)  # type: ignore[arg-type]
    return {"suggestion": suggestion, "decision": decision}


@router.get("/candidates", response_class=HTMLResponse)
def candidates_page(request: Request, study: StudyOf, viewer: CoderRole, seed: int = 0, adopted: str = "") -> Response:
    """Candidate codes a worker clustered from the uncoded passages, with their words, sources and central quotes; or the run making them."""
    if viewer.blind:
        return render(request, "assist/candidates.html", viewer, status=403, candidates=[], error=BLIND, seed=seed, codes=[], adopted="", kept=None)
    try:
        candidate_codes.check_seeds(seed)
    except ChorusError as exc:
        return render(request, "assist/candidates.html", viewer, status=400, candidates=[], error=in_the_browser(exc), seed=seed, codes=[],
                      adopted=adopted, kept=None)
    return _candidates_page(request, study, viewer, seed, adopted=adopted)


def _candidates_page(request: Request, study: Study, viewer: Viewer, seed: int, status: int = 200, adopted: str = "",
                     found: Any = None, **context: Any) -> Response:
    """The candidates page: the kept candidates (or ``found``, the same with the language model's names), the run making them,
    the codes to merge into and the language model on offer."""
    kept = background.kept_candidates(study, seed)
    if found is None:
        found = kept.candidates if kept is not None else None
    return render(request, "assist/candidates.html", viewer, status=status, candidates=[] if found is None else found.to_dict("records"),
                  seed=seed, kept=kept, watching=True, making=background.active(study, background.CANDIDATES, str(seed)),
                  codes=list(codebook.codebook(study)["path"]), endpoint=language_model(study), adopted=adopted, **context)


@router.post("/candidates/make")
def make_candidates(request: Request, study: StudyOf, viewer: CoderRole, seed: int = Form(0)) -> Response:
    """Queue candidate codes clustered with ``seed`` (again, once codings changed them); the page watches the run."""
    _not_blind(viewer)
    try:
        background.submit_candidates(study, seed, viewer.name)
    except ChorusError as exc:
        return _candidates_page(request, study, viewer, 0, status=400, error=in_the_browser(exc))
    return back_to(request, "/candidates", seed=seed)


@router.get("/api/candidates/{job_id}/{candidate}")
def candidate_passages(job_id: Whole, candidate: Whole, study: StudyOf, viewer: CoderRole) -> list[dict[str, str]]:
    """A kept candidate's passages (still uncoded), for the coder to untick those that do not belong before adopting it."""
    _not_blind(viewer)
    with named_in_path():
        return background.candidate_passages(study, job_id, candidate)


class Dismissal(BaseModel):
    """A candidate to dismiss: its passages' segment ids (space-separated), its label, and why (optional)."""

    segments: str = Field(max_length=2_000_000)
    label: str = Field("", max_length=400)
    reason: str = Field("", max_length=2000)


@router.post("/api/candidates/dismiss", status_code=201)
def dismiss_candidate(dismissal: Dismissal, study: StudyOf, viewer: CoderRole) -> dict[str, int]:
    """Dismiss a candidate (as ``chorus suggest dismiss``): stored and audited; reclustering does not offer it again."""
    _not_blind(viewer)
    with acting_as(viewer.name):
        return {"dismissed": candidate_codes.dismiss(study, dismissal.segments.split(), dismissal.label, viewer.name, dismissal.reason)}


def language_model(study: Study) -> llm.Endpoint | None:
    """The language model the study names, or None (it is off by default): pages offer it only when there is one."""
    try:
        return llm.configured(study)
    except ChorusError:
        return None


class Asking:
    """A ``confirm`` for :mod:`chorus.assist.llm` that keeps the disclosure to show, and says yes only once the person said send."""

    def __init__(self, send: str):
        self.send, self.disclosure = send == "yes", ""

    def __call__(self, disclosure: str) -> bool:
        self.disclosure = disclosure
        return self.send

    @property
    def to_show(self) -> str:
        """What the page shows before anything is sent ('' once sent)."""
        return "" if self.send else self.disclosure


@router.post("/candidates/adopt")
def adopt(
    request: Request, study: StudyOf, viewer: CoderRole, segments: str = Form("", max_length=2_000_000), segment: list[str] = Form([]),
    name: str = Form("", max_length=200), parent: str = Form("", max_length=400), into: str = Form("", max_length=400),
    seed: int = Form(0), adopt_as: str = Form("", alias="as", max_length=10),
) -> Response:
    """Make a candidate a new code (``name`` under ``parent``; ``as=new``), or merge it into an existing code (``into``; ``as=merge``),
    and code its ticked passages (``segment``, one per passage; or ``segments``, all of them, space-separated)."""
    _not_blind(viewer)
    new = adopt_as == "new" or (adopt_as != "merge" and not into)
    if not new:
        parent, _, name = into.rpartition(PATH_SEPARATOR)
    try:
        if not name.strip():
            raise ChorusError("name the new code, or choose the code to merge the candidate into")
        with acting_as(viewer.name):
            coded = candidate_codes.accept(study, segment or segments.split(), name.strip(), viewer.name, parent or None, new=new)
    except ChorusError as exc:
        return _candidates_page(request, study, viewer, seed, status=400, error=in_the_browser(exc))
    return back_to(request, "/candidates", seed=seed, adopted=f"{name.strip()} ({counted(coded, 'passage')} coded)")


@router.post("/candidates/names", response_class=HTMLResponse)
def llm_names(request: Request, study: StudyOf, viewer: CoderRole, send: str = Form(""), seed: int = Form(0)) -> Response:
    """Names for the kept candidates from the configured language model: first what would be sent where; sent only on ``send``."""
    _not_blind(viewer)
    asking = Asking(send)
    kept = background.kept_candidates(study, seed)
    if kept is None:
        return _candidates_page(request, study, viewer, seed, status=400, error="no candidates to name yet: find them first")
    try:
        named = llm.label_candidates(study, kept.candidates, asking)
    except ChorusError as exc:
        return _candidates_page(request, study, viewer, seed, status=400, error=in_the_browser(exc))
    return _candidates_page(request, study, viewer, seed, found=named, disclosure=asking.to_show, sent=asking.send)


@router.get("/evaluation", response_class=HTMLResponse)
def evaluation_page(request: Request, study: StudyOf, viewer: CoderRole) -> Response:
    """How much the AI finds on this study's own codings (as ``chorus suggest evaluate``): start one, follow it, open its figures."""
    if viewer.blind:
        return render(request, "assist/evaluation.html", viewer, status=403, error=BLIND, embedders=EMBEDDERS, default=DEFAULT)
    return render(request, "assist/evaluation.html", viewer, embedders=EMBEDDERS, default=DEFAULT, clusterings=background.CLUSTERINGS)


class NewEvaluation(BaseModel):
    """The embedder to evaluate."""

    embedder: str = Field(max_length=40)


@router.post("/api/evaluations", status_code=201)
def start_evaluation(new: NewEvaluation, study: StudyOf, viewer: CoderRole) -> dict[str, int]:
    """Queue an evaluation of one embedder; a worker process runs it."""
    _not_blind(viewer)
    return {"job": background.submit(study, new.embedder, viewer.name)}


@router.get("/evaluation/{job_id}", response_class=HTMLResponse)
def evaluation_figures(request: Request, job_id: Whole, study: StudyOf, viewer: CoderRole) -> Response:
    """A finished evaluation's figures: overall, then per code for suggestions and for candidates."""
    _not_blind(viewer)
    with named_in_path():
        figures = background.figures_of(study, job_id)
    return render(request, "assist/figures.html", viewer, **figures)


@router.post("/summaries", response_class=HTMLResponse)
def llm_summaries(request: Request, study: StudyOf, viewer: CoderRole, send: str = Form("")) -> Response:
    """Theme summaries by the configured language model (as ``chorus suggest summaries``): what would be sent where first."""
    _not_blind(viewer)
    asking = Asking(send)
    try:
        found = llm.summaries(study, asking)
    except ChorusError as exc:
        return render(request, "assist/summaries.html", viewer, status=400, error=in_the_browser(exc), summaries=[], disclosure="")
    return render(request, "assist/summaries.html", viewer, summaries=found.to_dict("records"), disclosure=asking.to_show,
                  endpoint=language_model(study))
