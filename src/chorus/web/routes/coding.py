"""Coding: codings and memos through the JSON API, the code system page with its edits, codebook imports and versions."""

from __future__ import annotations

import shutil
from typing import Any

from fastapi import APIRouter, Form, HTTPException, Request, Response, UploadFile
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field

from chorus import coding, interop
from chorus.coding import codes as codebook
from chorus.coding import versions
from chorus.errors import ChorusError, EditConflict, NotFound
from chorus.study import changes
from chorus.study.store import acting_as
from chorus.web.pages import CoderRole, OwnerRole, StudyOf, ViewerRole, Whole, back_to, in_the_browser, named_in_path, render
from chorus.web.uploads import as_uploaded, held, holding, uploaded
from chorus.web.users import rank

router = APIRouter()


class NewCoding(BaseModel):
    """A span of a transcript to code."""

    transcript: str = Field(max_length=200)
    code: str = Field(max_length=400)
    start: int = Field(ge=0)
    end: int = Field(ge=1)


class MergeInto(BaseModel):
    """The code another is merged into."""

    target: str = Field(min_length=1, max_length=400)


class NewMemo(BaseModel):
    """A memo's text."""

    text: str = Field(min_length=1, max_length=20_000)


class NewCode(BaseModel):
    """A code to add to the codebook."""

    name: str = Field(min_length=1, max_length=200)
    parent: str | None = Field(default=None, max_length=400)
    colour: str | None = Field(default=None, max_length=7)


class CodeChange(BaseModel):
    """Changes to a code, with the version the editor saw (a newer one means someone else changed it)."""

    version: int
    name: str | None = Field(default=None, max_length=200)
    colour: str | None = Field(default=None, max_length=7)
    definition: str | None = Field(default=None, max_length=20_000)
    inclusion: str | None = Field(default=None, max_length=20_000)
    exclusion: str | None = Field(default=None, max_length=20_000)
    parent: str | None = Field(default=None, max_length=400)  # "" for the top level
    example: str | None = Field(default=None, max_length=20_000)


@router.post("/api/codings", status_code=201)
def add_coding(new: NewCoding, study: StudyOf, viewer: CoderRole) -> dict[str, int]:
    """Code a span; a code the codebook no longer has because someone merged, renamed or removed it (while this coder's
    menu still offered it) is refused (409) with what happened to it, and never made again."""
    try:
        with acting_as(viewer.name):
            coding_id = coding.apply_code(study, new.transcript, new.code, viewer.name, start=new.start, end=new.end)
    except NotFound:
        fate = changes.code_fate(study, new.code)
        if fate is None:
            raise
        raise HTTPException(409, fate) from None
    return {"id": coding_id}


@router.delete("/api/codings/{coding_id}", status_code=204)
def remove_coding(coding_id: Whole, study: StudyOf, viewer: CoderRole) -> Response:
    with named_in_path(), acting_as(viewer.name):
        coding.remove_coding(study, coding_id, only_by=None if viewer.role == "owner" else viewer.name)
    return Response(status_code=204)


@router.post("/api/codings/{coding_id}/memo", status_code=201)
def memo_on_coding(coding_id: Whole, memo: NewMemo, study: StudyOf, viewer: CoderRole) -> dict[str, int]:
    with named_in_path(), acting_as(viewer.name):
        return {"id": coding.add_memo(study, memo.text, viewer.name, coding=coding_id)}


@router.post("/api/codes", status_code=201)
def new_code(new: NewCode, study: StudyOf, viewer: CoderRole) -> dict[str, str]:
    with acting_as(viewer.name):
        return {"path": codebook.add(study, new.name, new.parent, **({"colour": new.colour} if new.colour else {}))}


@router.patch("/api/codes/{path:path}")
def edit_code(path: str, change: CodeChange, study: StudyOf, viewer: OwnerRole) -> dict[str, Any]:
    fields = {k: v for k, v in change.model_dump(exclude={"version", "name", "parent"}).items() if v is not None}
    try:
        with acting_as(viewer.name):
            codebook.edit(study, path, change.version, new_name=change.name or None, parent=change.parent, **fields)
    except EditConflict as exc:
        raise HTTPException(409, in_the_browser(exc)) from None
    return {"ok": True}


def _codes_page(request: Request, study: StudyOf, viewer: ViewerRole, status: int = 200, **context: Any) -> Response:
    live_after = changes.latest(study)  # before the counts: what comes after reaches the page through the change stream
    sets = codebook.code_sets(study)
    return render(
        request, "coding/codes.html", viewer, status=status,
        codes=codebook.codebook(study).to_dict("records"), can_edit=viewer.role == "owner", can_add=rank(viewer.role) >= rank("coder"),
        sets=[(name, members.to_dict("records")) for name, members in sets.groupby("set", sort=True)],
        versions=versions.versions(study).to_dict("records"), live_after=live_after, **context,
    )


@router.get("/codes", response_class=HTMLResponse)
def codes_page(request: Request, study: StudyOf, viewer: ViewerRole, imported: str = "", kept: int | None = None) -> Response:
    return _codes_page(request, study, viewer, imported=imported, kept=kept)


@router.post("/codes/check", response_class=HTMLResponse)
def check_codebook(request: Request, study: StudyOf, viewer: OwnerRole, codebook_file: UploadFile) -> Response:
    """What importing an uploaded codebook (CSV, XLSX or QDC) would add and change; nothing is stored yet."""
    with holding(study) as (upload, folder):
        path = uploaded(codebook_file, folder, interop.CODEBOOK_FILES)
        try:
            found = interop.codebook_changes(study, path, definitions=True)
        except ChorusError as exc:
            shutil.rmtree(folder, ignore_errors=True)
            return _codes_page(request, study, viewer, status=400, error=as_uploaded(in_the_browser(exc), str(folder)))
    if found.empty:
        shutil.rmtree(folder, ignore_errors=True)
    return render(request, "coding/import.html", viewer, changes=found.to_dict("records"), upload=upload, file=path.name,
                  counts=found["change"].value_counts().to_dict(), clashes=int(((found["change"] == "redefined") & (found["before"] != "")).sum()))


@router.post("/codes/store")
def store_codebook(request: Request, study: StudyOf, viewer: OwnerRole, upload: str = Form(max_length=40)) -> Response:
    """Import a checked codebook, all or nothing, under the signed-in owner's name in the audit trail."""
    folder = held(study, upload)
    path = next(folder.iterdir())
    try:
        with acting_as(viewer.name):
            interop.import_codebook_file(study, path)
    except ChorusError as exc:  # the codebook changed since the check
        raise HTTPException(400, as_uploaded(in_the_browser(exc), str(folder))) from None
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return back_to(request, "/codes", imported=path.name)


@router.post("/codes/versions")
def keep_version(request: Request, study: StudyOf, viewer: OwnerRole, label: str = Form("", max_length=200)) -> Response:
    """Keep the codebook as it is now as a numbered version, as ``chorus codebook snapshot`` does."""
    try:
        with acting_as(viewer.name):
            number = versions.snapshot(study, label.strip() or None)
    except ChorusError as exc:
        return _codes_page(request, study, viewer, status=400, error=in_the_browser(exc))
    return back_to(request, "/codes", kept=number)


@router.get("/codes/versions", response_class=HTMLResponse)
def versions_page(request: Request, study: StudyOf, viewer: ViewerRole, old: Whole | None = None, new: Whole | None = None) -> Response:
    """The codebook's versions, and what changed between two of them, as ``chorus codebook diff`` says."""
    kept = versions.versions(study)
    numbers = list(kept["number"])
    old = old if old is not None else (numbers[-2] if len(numbers) > 1 else None)
    new = new if new is not None else (numbers[-1] if numbers else None)
    try:
        changed = versions.diff(study, old, new).to_dict("records") if old is not None and new is not None else None
    except ChorusError as exc:
        return render(request, "coding/versions.html", viewer, status=400, versions=kept.to_dict("records"), error=in_the_browser(exc), old=old, new=new, changes=None)
    return render(request, "coding/versions.html", viewer, versions=kept.to_dict("records"), old=old, new=new, changes=changed,
                  by_version=versions.codings_by_version(study).to_dict("records"))


@router.post("/api/codes/{path:path}/merge")
def merge_code(path: str, into: MergeInto, study: StudyOf, viewer: OwnerRole) -> dict[str, int]:
    with acting_as(viewer.name):
        return {"moved": codebook.merge(study, path, into.target)}
