"""The change stream: every open page of a study hears what others change, as it happens, across server processes.

Server-sent events (``GET /api/live``), not long polling, not WebSockets. A page
only listens (its changes go through the JSON API as before), which is what SSE
is: one plain HTTP response that stays open, so it passes every proxy that passes
a slow download (with buffering off for ``text/event-stream``), needs nothing
beyond uvicorn, and the browser's ``EventSource`` reconnects by itself and sends
the last event's id (``Last-Event-ID``) back. Long polling would do the same with
a request per change per page; Taguette's 50 pages would be 50 requests a write.

The stream reads the store, never a process's memory, so a write answered by one
of ``chorus serve --workers N``'s processes reaches pages served by the others:
each process has one :class:`Hub` per study that asks the store for the audit
trail's newest id every :data:`POLL` seconds (one index lookup, in a worker
thread; on SQLite and PostgreSQL alike). When it moves, each page reads the
entries after the one it last had (:func:`chorus.study.changes.since`, narrowed
for its reader: a coder in an open blind round gets only their own codings), and
pages at the same place with the same reader share that read. No database session
is held while a stream waits; each read opens and closes its own.

Each event's id is its audit entry's id: a page that lost its connection (asleep,
a proxy's timeout, a server restarted) catches up from where it was, or, past
:data:`chorus.study.changes.REPLAY_LIMIT` entries, is told to load again. A
stream ends after :data:`LIFETIME` seconds and the page reconnects at once, so
its reader's rights are checked again (and at once when a blind round opens or a
role changes: the stream ends after that entry).

Who else has a transcript open (presence) is kept per open stream in a small file
of the study folder's ``.chorus-live`` (name, page, what they last did), removed
when it ends; every process of a server reads the same folder. A process's hub
writes its streams' changed records together, at most every :data:`PRESENCE_SAID`
seconds, and touches them all every :data:`HEARTBEAT`: one write a second, not one
per stream per change. A blind-round coder sees no one, as they see no one else's codings.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import time
from collections.abc import AsyncIterator
from contextlib import suppress
from pathlib import Path
from typing import Any

import anyio.to_thread
from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import StreamingResponse

from chorus.study import changes
from chorus.study.seeing import seeing_only
from chorus.study.store import Study
from chorus.web.pages import StudyOf, ViewerRole
from chorus.web.security import Viewer

router = APIRouter()

#: Seconds between a process's looks at the audit trail's newest id.
POLL = 0.3
#: Worker threads a process's streams read the store in, beside (not out of) the requests' own.
LIMIT = 2
#: Seconds a stream lasts before the page reconnects (and the reader's rights are checked again).
LIFETIME = 120.0
#: Seconds between comments on a quiet stream: proxies keep it open, and a page gone is noticed.
HEARTBEAT = 15.0
#: Milliseconds a page waits before reconnecting (sent to ``EventSource`` as ``retry``).
RETRY_MS = 1000
#: Seconds between looks at who else is here; a presence file untouched for three heartbeats is a stream gone.
PRESENCE_EVERY = 2.0
#: Seconds between a process's writes of its streams' presence (what each reader last did), all in one go.
PRESENCE_SAID = 1.0
PRESENCE_FOLDER = ".chorus-live"
#: How a page's own changes read in the others' presence line.
_DID = {"coding.added": "coded “{code}”", "coding.removed": "removed a coding of “{code}”", "memo.added": "wrote a memo",
        "code.added": "added the code “{code}”", "code.renamed": "renamed “{was}”", "code.merged": "merged “{was}” into “{code}”",
        "code.removed": "removed the code “{was}”", "transcript.edited": "edited {transcript}"}


class Presence:
    """Who has which page open: one small JSON file per open stream in ``folder``, shared by every server process."""

    def __init__(self, folder: Path):
        self.folder = folder

    def here(self, records: dict[str, dict[str, Any]]) -> None:
        """Say (again) that each stream in ``records`` is open: its reader's ``name``, the ``page`` and what they last ``did``."""
        with suppress(OSError):
            self.folder.mkdir(exist_ok=True)
        for stream, record in records.items():
            with suppress(OSError):
                (self.folder / f"{stream}.tmp").write_text(json.dumps({**record, "at": time.time()}), encoding="utf-8")
                os.replace(self.folder / f"{stream}.tmp", self.folder / f"{stream}.json")

    def gone(self, stream: str) -> None:
        with suppress(OSError):
            (self.folder / f"{stream}.json").unlink()

    def everyone(self) -> dict[str, dict[str, Any]]:
        """Every open stream's record by its id; records of streams that stopped saying so (a killed process) are removed."""
        found: dict[str, dict[str, Any]] = {}
        stale = time.time() - 3 * HEARTBEAT
        with suppress(OSError):
            for entry in os.scandir(self.folder):
                if not entry.name.endswith(".json"):
                    continue
                try:
                    if entry.stat().st_mtime < stale:
                        os.unlink(entry.path)
                        continue
                    with open(entry.path, encoding="utf-8") as kept:
                        found[entry.name[:-5]] = json.load(kept)
                except (OSError, ValueError):
                    continue
        return found


class Batch:
    """One read of the trail for one reader, and its event text for each page, written once for every page that shows the same.

    A transcript's page is sent only what it draws: codings and edits of its own transcript, and everything else
    (codes, memos, jobs, people). Codings elsewhere in the study would cost every open page a message it throws away.
    """

    def __init__(self, found: changes.Changes):
        self.found = found
        self._texts = [_event(change, ident=change["id"]) for change in found.changes]  # made in the reading thread, not the event loop
        self._at = _event(found.last, "at", found.last)
        self.did = {change["actor"]: said for change in found.changes if (said := _did(change))}  # what each person last did, for presence
        self._said: dict[str | None, str] = {}

    def said(self, page: str) -> str:
        """The changes as events for a page showing ``page`` (``transcript:FG01``, ``codes``, ...), and where it is now caught up to
        (an ``at`` event, sent even when nothing here was for the page)."""
        shown = page.removeprefix("transcript:") if page.startswith("transcript:") else None
        if shown not in self._said:
            self._said[shown] = "".join(text for text, change in zip(self._texts, self.found.changes) if _shows(shown, change)) + self._at
        return self._said[shown]


def _shows(transcript: str | None, change: dict[str, Any]) -> bool:
    """Whether a page showing ``transcript`` (None: any other page) draws ``change``."""
    if transcript is None or not change["kind"].startswith(("coding.", "transcript.")):
        return True
    return change.get("transcript") == transcript


class Hub:
    """A server process's watch over one study's audit trail, shared by every stream it serves on that study."""

    def __init__(self, study: Study):
        self.study = study
        # the streams' own worker threads: their reads never take one of the requests' (chorus serve --threads)
        self.limiter = anyio.CapacityLimiter(LIMIT)
        self.head: int | None = None
        self.moved = asyncio.Event()  # set, and replaced, whenever the head moves
        self.listeners = 0
        self.task: asyncio.Task | None = None
        self.reads: dict[tuple[Any, ...], asyncio.Future] = {}
        self.presence = Presence(study.folder / PRESENCE_FOLDER)
        self.present: dict[str, dict[str, Any]] = {}
        self.present_at = 0.0
        self.mine: dict[str, dict[str, Any]] = {}  # this process's open streams' presence records
        self.unsaid: set[str] = set()  # ... changed since they were last written
        self.said_at = self.touched_at = 0.0

    async def join(self) -> None:
        self.listeners += 1
        if self.head is None:
            self.head = await anyio.to_thread.run_sync(changes.latest, self.study, limiter=self.limiter)
        if self.task is None:
            self.task = asyncio.get_running_loop().create_task(self._watch())

    def leave(self) -> None:
        self.listeners -= 1

    def here(self, stream: str, name: str, page: str, did: str) -> None:
        """Note that ``stream`` (of ``name``, on ``page``) is open and last did ``did``: written with the others at the next look."""
        self.mine[stream] = {"name": name, "page": page, "did": did}
        self.unsaid.add(stream)

    def gone(self, stream: str) -> None:
        self.mine.pop(stream, None)
        self.unsaid.discard(stream)
        self.presence.gone(stream)

    async def _watch(self) -> None:
        try:
            while self.listeners > 0:
                await asyncio.sleep(POLL)
                try:
                    head = await anyio.to_thread.run_sync(changes.latest, self.study, limiter=self.limiter)
                except Exception:  # noqa: BLE001 - a store briefly away (a restart of PostgreSQL): look again
                    continue
                self.saw(head)
                await self._say_who_is_here()
        finally:
            self.task = None

    async def _say_who_is_here(self) -> None:
        """Write this process's changed presence records, in one go and at most every :data:`PRESENCE_SAID` seconds
        (every record each :data:`HEARTBEAT`, so that other processes know the streams still live)."""
        now = time.monotonic()
        if now - self.touched_at >= HEARTBEAT:
            self.touched_at, self.unsaid = now, set(self.mine)
        if not self.unsaid or now - self.said_at < PRESENCE_SAID:
            return
        records = {stream: self.mine[stream] for stream in self.unsaid if stream in self.mine}
        self.said_at, self.unsaid = now, set()
        await anyio.to_thread.run_sync(self.presence.here, records, limiter=self.limiter)

    def saw(self, head: int) -> None:
        """The trail's newest id is ``head``: if it moved, every stream waiting on it wakes."""
        if head != self.head:
            self.head = head
            self.moved.set()
            self.moved = asyncio.Event()

    async def read(self, after: int, upto: int, role: str, blind: str | None) -> Batch:
        """The changes after ``after`` up to ``upto`` for a reader: read once for every page at that place with that reader."""
        key = (after, upto, role, blind)
        if key not in self.reads:
            def read() -> Batch:
                with seeing_only(blind):
                    return Batch(changes.since(self.study, after, role=role, upto=upto))

            self.reads[key] = asyncio.ensure_future(anyio.to_thread.run_sync(read, limiter=self.limiter))
            while len(self.reads) > 64:
                self.reads.pop(next(iter(self.reads)))
        try:
            return await asyncio.shield(self.reads[key])
        except Exception:
            self.reads.pop(key, None)  # not kept: the next page to ask reads again
            raise

    async def others(self) -> dict[str, dict[str, Any]]:
        """Every open stream's presence record, read again at most every :data:`PRESENCE_EVERY` seconds."""
        if time.monotonic() - self.present_at > PRESENCE_EVERY:
            self.present_at = time.monotonic()
            self.present = await anyio.to_thread.run_sync(self.presence.everyone, limiter=self.limiter)
        return self.present


def hub_of(request: Request) -> Hub:
    """The app's hub (one per study per process), made on the first stream."""
    state = request.app.state
    if getattr(state, "live", None) is None:
        state.live = Hub(state.study)
    return state.live


def _event(data: Any, event: str | None = None, ident: int | None = None) -> str:
    lines = ([f"event: {event}"] if event else []) + ([f"id: {ident}"] if ident is not None else [])
    return "\n".join([*lines, f"data: {json.dumps(data, ensure_ascii=False)}"]) + "\n\n"


def _did(change: dict[str, Any]) -> str | None:
    said = _DID.get(change["kind"])
    return said.format(**{k: change.get(k) or "" for k in ("code", "was", "transcript")}) if said else None


async def _stream(request: Request, hub: Hub, viewer: Viewer, after: int, page: str) -> AsyncIterator[str]:
    blind = viewer.name if viewer.blind else None
    stream, ends, did = secrets.token_hex(8), time.monotonic() + LIFETIME, "opened it"
    await hub.join()
    try:
        yield f": served by process {os.getpid()}\nretry: {RETRY_MS}\n\n"  # the process, for the tests that a write reaches every one
        if after > (hub.head or 0):  # newer than this process's last look, or the page saw entries this store does not have
            hub.saw(await anyio.to_thread.run_sync(changes.latest, hub.study, limiter=hub.limiter))
        if after > (hub.head or 0):  # so the study was restored from a backup made before
            yield _event({"why": "the study was changed back to an earlier state; reload the page"}, "reload")
            return
        hub.here(stream, viewer.name, page, did)
        shown: list[dict[str, Any]] | None = None
        seen: dict[str, dict[str, Any]] | None = None
        beat = time.monotonic()
        while True:
            moved = hub.moved
            if (hub.head or 0) > after:
                batch = await hub.read(after, hub.head or 0, viewer.role, blind)
                found = batch.found
                if found.too_many:
                    yield _event({"why": f"over {changes.REPLAY_LIMIT} changes came while this page was away; reload it"}, "reload", found.last)
                    return
                after = found.last
                yield batch.said(page)  # one write a look, however many changes, and where the page is caught up to
                if batch.did.get(viewer.name, did) != did:
                    did = batch.did[viewer.name]
                    hub.here(stream, viewer.name, page, did)
                if found.ask_again:  # who may see what changed: the page reconnects and is asked again
                    return
                continue
            others = await hub.others() if page and blind is None else seen
            if others is not seen:  # read again since this stream last looked (every PRESENCE_EVERY seconds, not every change)
                seen = others
                here = sorted(({"name": r["name"], "did": r["did"], "at": r["at"]} for k, r in others.items()
                               if k != stream and r.get("page") == page and r.get("name") != viewer.name), key=lambda r: r["name"])
                people = list({r["name"]: r for r in here}.values())
                if [(p["name"], p["did"]) for p in people] != [(p["name"], p["did"]) for p in shown or []]:
                    shown = people
                    yield _event(people, "presence")
            now = time.monotonic()
            if now >= ends:
                return
            if now - beat >= HEARTBEAT:
                beat = now
                yield ": still here\n\n"
            with suppress(TimeoutError):
                async with asyncio.timeout(min(PRESENCE_EVERY if page else HEARTBEAT, ends - now)):  # no task made, as wait_for makes
                    await moved.wait()
    finally:  # run as the page leaves, inside a cancelled scope where nothing may be awaited: one unlink, done here
        hub.leave()
        hub.gone(stream)


@router.get("/api/live")
async def live(
    request: Request, study: StudyOf, viewer: ViewerRole,
    after: int | None = Query(None, ge=0, description="the audit entry the page was drawn at"),
    page: str = Query("", max_length=300, description="what the page shows (transcript:FG01), for who else is here"),
    last_event_id: str | None = Header(None, max_length=20),
) -> StreamingResponse:
    """What changes in the study from now on (or since ``after``, or since the ``Last-Event-ID`` a reconnecting page sends), as server-sent events.

    Each change is a message with its audit entry's id and JSON data (``kind``: ``coding.added``, ``code.merged``, ...);
    ``at`` says where the page is caught up to, ``presence`` who else has ``page`` open, ``reload`` that the page
    must load again. The stream ends now and then; ``EventSource`` reconnects and the page loses nothing.
    """
    start = int(last_event_id) if last_event_id and last_event_id.isdigit() else after
    hub = hub_of(request)
    if start is None:
        start = await anyio.to_thread.run_sync(changes.latest, study, limiter=hub.limiter)
    return StreamingResponse(_stream(request, hub, viewer, start, page), media_type="text/event-stream",
                             headers={"X-Accel-Buffering": "no", "Cache-Control": "no-store"})
