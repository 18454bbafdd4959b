"""The domain model of a focus-group study, as SQLAlchemy 2 tables.

A *study* holds a roster of *participants* (with discipline, care team and free
attributes), the *groups* (sessions) they met in, one *transcript* per group made
of speaker *turns*, a hierarchical *codebook* of *codes*, and the *codings* that
*coders* applied to spans of transcript text. *Memos* attach to codes,
transcripts or codings.

Character offsets (turn and coding ``start``/``end``) are Unicode code points
into :attr:`Transcript.text`, half-open ``[start, end)``, as in Python slicing and
in REFI-QDA's PlainTextSelection.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import date, datetime, timezone
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, query_expression, relationship

#: The largest number an integer column holds in every store (PostgreSQL's integer): ids, turn numbers, versions.
LARGEST_INTEGER = 2**31 - 1


def utcnow() -> datetime:
    """The current time in UTC, the time stamp of every stored change."""
    return datetime.now(timezone.utc)


def as_utc(moment: datetime) -> datetime:
    """A stored time with its zone: SQLite gives date-times back without one, and they were written in UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


class Base(DeclarativeBase):
    """Declarative base of every Chorus table."""


class StudyInfo(Base):
    """One row describing the study itself: name, creation time, settings."""

    __tablename__ = "study"

    id: Mapped[int] = mapped_column(primary_key=True)
    guid: Mapped[str | None] = mapped_column(String(38), default=lambda: str(uuid.uuid4()))  # seeds export GUIDs
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class Membership(Base):
    """A participant's place in a group (a facilitator may be in several)."""

    __tablename__ = "membership"

    participant_id: Mapped[int] = mapped_column(
        ForeignKey("participant.id", ondelete="CASCADE"), primary_key=True
    )
    group_id: Mapped[int] = mapped_column(
        ForeignKey("focus_group.id", ondelete="CASCADE"), primary_key=True
    )


class Participant(Base):
    """A person on the roster: a clinician who took part, or a facilitator."""

    __tablename__ = "participant"

    id: Mapped[int] = mapped_column(primary_key=True)
    guid: Mapped[str | None] = mapped_column(String(38))  # REFI-QDA identity, kept from imports
    key: Mapped[str] = mapped_column(String(100), unique=True)
    pseudonym: Mapped[str] = mapped_column(String(200), unique=True)
    discipline: Mapped[str | None] = mapped_column(String(100))
    care_team: Mapped[str | None] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(20), default="participant")
    attributes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    groups: Mapped[list[Group]] = relationship(
        secondary="membership", back_populates="members", order_by="Group.name"
    )

    @property
    def is_facilitator(self) -> bool:
        """True for the people who ran the groups rather than spoke in them."""
        return self.role == "facilitator"


class Group(Base):
    """A focus group (session): when it met, who was there, where its recording is."""

    __tablename__ = "focus_group"

    id: Mapped[int] = mapped_column(primary_key=True)
    guid: Mapped[str | None] = mapped_column(String(38))  # REFI-QDA identity, kept from imports
    name: Mapped[str] = mapped_column(String(100), unique=True)
    date: Mapped[date | None] = mapped_column(Date)
    recording_path: Mapped[str | None] = mapped_column(Text)
    attributes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    members: Mapped[list[Participant]] = relationship(
        secondary="membership", back_populates="groups", order_by="Participant.pseudonym"
    )
    transcripts: Mapped[list[Transcript]] = relationship(back_populates="group")


class SpeakerAlias(Base):
    """Another way a participant is written in transcripts ("Dr. Okafor" for "Okafor")."""

    __tablename__ = "speaker_alias"

    id: Mapped[int] = mapped_column(primary_key=True)
    alias: Mapped[str] = mapped_column(String(200), unique=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participant.id", ondelete="CASCADE"))

    participant: Mapped[Participant] = relationship()


class Transcript(Base):
    """The text of one group's discussion, with its turns."""

    __tablename__ = "transcript"

    id: Mapped[int] = mapped_column(primary_key=True)
    guid: Mapped[str | None] = mapped_column(String(38))  # REFI-QDA identity, kept from imports
    name: Mapped[str] = mapped_column(String(200), unique=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("focus_group.id"))
    source_path: Mapped[str | None] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    imported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # the recording it was transcribed from: path, sha256, duration, model, diarizer, speakers
    media: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    #: How many characters the text has, where a query counted them in the database (its text left unread); else None.
    length: Mapped[int | None] = query_expression()

    group: Mapped[Group] = relationship(back_populates="transcripts")
    turns: Mapped[list[Turn]] = relationship(
        back_populates="transcript", order_by="Turn.ordinal", cascade="all, delete-orphan"
    )


class Turn(Base):
    """One speaker's uninterrupted contribution: its span of text and, if known, its times."""

    __tablename__ = "turn"
    __table_args__ = (
        UniqueConstraint("transcript_id", "ordinal"),
        Index("ix_turn_transcript_start", "transcript_id", "start"),
        # the parent key that keeps coding_turn's speaker in step when a turn is reassigned
        Index("ux_turn_id_speaker", "id", "participant_id", "transcript_id", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    transcript_id: Mapped[int] = mapped_column(ForeignKey("transcript.id", ondelete="CASCADE"))
    ordinal: Mapped[int] = mapped_column(Integer)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participant.id"), index=True)
    speaker_label: Mapped[str] = mapped_column(String(200))
    start: Mapped[int] = mapped_column(Integer)
    end: Mapped[int] = mapped_column(Integer)
    start_time: Mapped[float | None] = mapped_column(Float)
    end_time: Mapped[float | None] = mapped_column(Float)
    # per word [start, end, start_time, end_time]: offsets into the transcript text, seconds
    words: Mapped[list[list[float]] | None] = mapped_column(JSON)

    transcript: Mapped[Transcript] = relationship(back_populates="turns")
    participant: Mapped[Participant] = relationship()


class GuideQuestion(Base):
    """A question of the discussion guide: its id as the guide gives it, its order, wording, probes and section."""

    __tablename__ = "guide_question"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(100), unique=True)
    ordinal: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    probes: Mapped[str] = mapped_column(Text, default="")
    section: Mapped[str] = mapped_column(String(200), default="")


class TurnQuestion(Base):
    """The guide question a turn answers (or, for a facilitator's turn, asks), with how sure the alignment was.

    ``confirmed``: a researcher set or kept it; a new alignment leaves confirmed turns alone.
    """

    __tablename__ = "turn_question"

    turn_id: Mapped[int] = mapped_column(ForeignKey("turn.id", ondelete="CASCADE"), primary_key=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("guide_question.id", ondelete="CASCADE"), index=True)
    confidence: Mapped[float] = mapped_column(Float)
    confirmed: Mapped[bool] = mapped_column(Boolean, default=False)


class Code(Base):
    """A code of the codebook, in a hierarchy, with what it means and how to apply it."""

    __tablename__ = "code"
    __table_args__ = (UniqueConstraint("parent_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    guid: Mapped[str | None] = mapped_column(String(38))  # REFI-QDA identity, kept from imports
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("code.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    colour: Mapped[str | None] = mapped_column(String(7))
    definition: Mapped[str | None] = mapped_column(Text)
    inclusion: Mapped[str | None] = mapped_column(Text)
    exclusion: Mapped[str | None] = mapped_column(Text)
    example: Mapped[str | None] = mapped_column(Text)
    position: Mapped[int] = mapped_column(Integer, default=0)
    version: Mapped[int] = mapped_column(Integer, server_default="1")  # raised by every change: edits check it

    __mapper_args__ = {"version_id_col": version}

    parent: Mapped[Code | None] = relationship(remote_side="Code.id", back_populates="children")
    children: Mapped[list[Code]] = relationship(back_populates="parent", order_by="Code.position")


class CodeSetMember(Base):
    """A code's place in a code set (a code may be in several sets)."""

    __tablename__ = "code_set_member"

    code_set_id: Mapped[int] = mapped_column(ForeignKey("code_set.id", ondelete="CASCADE"), primary_key=True)
    code_id: Mapped[int] = mapped_column(ForeignKey("code.id", ondelete="CASCADE"), primary_key=True)


class CodeSet(Base):
    """A named set of codes from anywhere in the tree: MAXQDA's code sets, ATLAS.ti's code groups (REFI-QDA ``<Set>``)."""

    __tablename__ = "code_set"

    id: Mapped[int] = mapped_column(primary_key=True)
    guid: Mapped[str | None] = mapped_column(String(38))  # REFI-QDA identity, kept from imports
    name: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str | None] = mapped_column(Text)

    codes: Mapped[list[Code]] = relationship(secondary="code_set_member", order_by="Code.position")


class Coder(Base):
    """A person (or, later, a machine suggester) who applies codes."""

    __tablename__ = "coder"

    id: Mapped[int] = mapped_column(primary_key=True)
    guid: Mapped[str | None] = mapped_column(String(38))  # REFI-QDA identity, kept from imports
    name: Mapped[str] = mapped_column(String(100), unique=True)


class Coding(Base):
    """A code applied by a coder to the span ``[start, end)`` of a transcript."""

    __tablename__ = "coding"
    __table_args__ = (
        UniqueConstraint("transcript_id", "code_id", "coder_id", "start", "end"),
        # the parent key that keeps coding_turn.code_id in step when a code is merged
        Index("ux_coding_id_code", "id", "code_id", unique=True),
        Index("ix_coding_coder_id", "coder_id"),  # whose codings count (chorus.study.counting) asks who has coded
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    guid: Mapped[str | None] = mapped_column(String(38))  # REFI-QDA identity, kept from imports
    transcript_id: Mapped[int] = mapped_column(ForeignKey("transcript.id", ondelete="CASCADE"))
    code_id: Mapped[int] = mapped_column(ForeignKey("code.id"), index=True)
    coder_id: Mapped[int] = mapped_column(ForeignKey("coder.id"))
    start: Mapped[int] = mapped_column(Integer)
    end: Mapped[int] = mapped_column(Integer)
    selection_guid: Mapped[str | None] = mapped_column(String(38))  # the REFI-QDA selection it came in
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    transcript: Mapped[Transcript] = relationship()
    code: Mapped[Code] = relationship()
    coder: Mapped[Coder] = relationship()
    turns: Mapped[list[Turn]] = relationship(secondary="coding_turn", viewonly=True)


class CodingTurn(Base):
    """Which turns a coding overlaps: how a coded segment is attributed to its speakers.

    Each row repeats its coding's code and its turn's speaker and transcript, kept
    in step by ``ON UPDATE CASCADE`` foreign keys, so a code x discipline matrix is
    one scan of an index however many codings the study holds.
    """

    __tablename__ = "coding_turn"
    __table_args__ = (
        ForeignKeyConstraint(
            ["coding_id", "code_id"], ["coding.id", "coding.code_id"], ondelete="CASCADE", onupdate="CASCADE"
        ),
        ForeignKeyConstraint(
            ["turn_id", "participant_id", "transcript_id"],
            ["turn.id", "turn.participant_id", "turn.transcript_id"],
            ondelete="CASCADE",
            onupdate="CASCADE",
        ),
        Index("ix_coding_turn_turn_id", "turn_id"),
        Index("ix_coding_turn_attribution", "code_id", "participant_id", "transcript_id"),
    )

    coding_id: Mapped[int] = mapped_column(primary_key=True)
    turn_id: Mapped[int] = mapped_column(primary_key=True)
    code_id: Mapped[int] = mapped_column(Integer)
    participant_id: Mapped[int] = mapped_column(Integer)
    transcript_id: Mapped[int] = mapped_column(Integer)

    @classmethod
    def linking(cls, coding: Coding, turns: Iterable[Turn]) -> list[CodingTurn]:
        """The rows attributing a (flushed) coding to the speakers of the turns it overlaps."""
        return [cls(**row) for row in cls.rows(coding, turns)]

    @staticmethod
    def rows(coding: Coding, turns: Iterable[Turn]) -> list[dict[str, int]]:
        """:meth:`linking`'s rows as column values, for an insert without the unit of work."""
        return [{"coding_id": coding.id, "turn_id": t.id, "code_id": coding.code_id, "participant_id": t.participant_id,
                 "transcript_id": t.transcript_id} for t in turns]


class Memo(Base):
    """An analyst's note on a code, a transcript or a coding (or on the study, with none)."""

    __tablename__ = "memo"

    id: Mapped[int] = mapped_column(primary_key=True)
    guid: Mapped[str | None] = mapped_column(String(38))  # REFI-QDA identity, kept from imports
    title: Mapped[str | None] = mapped_column(String(200))  # a REFI-QDA note's name
    description: Mapped[str | None] = mapped_column(Text)  # a REFI-QDA note's description
    text: Mapped[str] = mapped_column(Text)
    coder_id: Mapped[int] = mapped_column(ForeignKey("coder.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    code_id: Mapped[int | None] = mapped_column(ForeignKey("code.id", ondelete="CASCADE"))
    transcript_id: Mapped[int | None] = mapped_column(
        ForeignKey("transcript.id", ondelete="CASCADE")
    )
    coding_id: Mapped[int | None] = mapped_column(ForeignKey("coding.id", ondelete="CASCADE"))

    coder: Mapped[Coder] = relationship()


class CandidateDismissal(Base):
    """A candidate code a coder dismissed (:func:`chorus.assist.candidates.dismiss`): who, when, why, and its members.

    A candidate is known by its members (segment ids, ``transcript@start-end``), not
    its number, so a later clustering's candidate made mostly of them is the dismissed
    one and is not offered again.
    """

    __tablename__ = "candidate_dismissal"

    id: Mapped[int] = mapped_column(primary_key=True)
    label: Mapped[str] = mapped_column(String(400))  # the candidate's key phrases when it was dismissed
    reason: Mapped[str] = mapped_column(Text)
    segments: Mapped[str] = mapped_column(Text)  # the members' segment ids, space-separated
    coder_id: Mapped[int] = mapped_column(ForeignKey("coder.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    coder: Mapped[Coder] = relationship()


class AuditEntry(Base):
    """One change to the study: who made it, when, and the row before and after.

    Written by the store itself on every flush and bulk insert (see
    :mod:`chorus.study.audit`); the database refuses to update or delete it.
    Transcript text is logged as its hash and length, never the words, so the
    log holds no protected health information a transcript may contain. Each
    entry's ``chain`` hashes its content with the ``chain`` of the entry before
    it (``previous``), so an entry altered, removed or added out of band breaks
    the chain where it was (:func:`chorus.study.audit.verify`).
    """

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_entity", "entity", "entity_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(10))  # insert, update, delete
    entity: Mapped[str] = mapped_column(String(50))  # the table
    entity_id: Mapped[int | None] = mapped_column(Integer)
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    previous: Mapped[str | None] = mapped_column(String(64))  # the chain of the entry before ("" for the first)
    chain: Mapped[str | None] = mapped_column(String(64))  # SHA-256 of previous and this entry's content


class CodebookVersion(Base):
    """A named snapshot of the whole codebook, to cite, compare and date codings by."""

    __tablename__ = "codebook_version"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[int] = mapped_column(Integer, unique=True)
    label: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    actor: Mapped[str] = mapped_column(String(100))
    codes: Mapped[list[dict[str, Any]]] = mapped_column(JSON)


class Embedding(Base):
    """A cached embedding of one piece of text by one model, found by the hash of both (so edited text misses)."""

    __tablename__ = "embedding"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 of model name and text
    model: Mapped[str] = mapped_column(String(100))
    vector: Mapped[bytes] = mapped_column(LargeBinary)  # float32, little-endian


class Suggestion(Base):
    """A machine-proposed coding, with its confidence and nearest example, until a coder accepts or rejects it."""

    __tablename__ = "suggestion"
    __table_args__ = (Index("ix_suggestion_code_status", "code_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code_id: Mapped[int] = mapped_column(ForeignKey("code.id", ondelete="CASCADE"))
    transcript_id: Mapped[int] = mapped_column(ForeignKey("transcript.id", ondelete="CASCADE"))
    start: Mapped[int] = mapped_column(Integer)
    end: Mapped[int] = mapped_column(Integer)
    confidence: Mapped[float] = mapped_column(Float)
    threshold: Mapped[float | None] = mapped_column(Float)  # the code's threshold when proposed (None before revision 0016)
    example_coding_id: Mapped[int | None] = mapped_column(ForeignKey("coding.id", ondelete="SET NULL"))
    method: Mapped[str] = mapped_column(String(100))  # model and classifier that proposed it
    status: Mapped[str] = mapped_column(String(10), default="pending")  # pending, accepted, rejected
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    decided_by: Mapped[str | None] = mapped_column(String(100))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    coding_id: Mapped[int | None] = mapped_column(ForeignKey("coding.id", ondelete="SET NULL"))

    code: Mapped[Code] = relationship()
    transcript: Mapped[Transcript] = relationship()


class User(Base):
    """An account of the web app: a person with a role in this study; their codings are under the coder of the same name."""

    __tablename__ = "app_user"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))  # argon2id; never the password
    role: Mapped[str] = mapped_column(String(10))  # owner, coder, viewer
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())  # a deactivated person is refused at once
    reset_digest: Mapped[str | None] = mapped_column(String(64))  # SHA-256 of a one-time password-reset token, never the token
    reset_expires: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class SignInAttempt:
    """The columns of a sign-in ledger: a study's accounts (:class:`SignIn`) and a server's owners keep one each."""

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    name: Mapped[str] = mapped_column(String(100), index=True)  # as typed: failures for names no account has count too
    address: Mapped[str] = mapped_column(String(64), index=True)
    outcome: Mapped[str] = mapped_column(String(12))
    by: Mapped[str | None] = mapped_column(String(100))


class SignIn(SignInAttempt, Base):
    """What happened at the sign-in form, one row per event, never changed: who tried, from where, and how it ended.

    ``outcome``: ``signed in``, ``failed`` (a wrong name or password), ``refused``
    (too soon after failures, or locked; the password was not checked),
    ``locked`` (the failure that reached the threshold), ``unlocked`` (by an
    owner, named in ``by``), ``signed out``. The throttle counts failures since
    the last success or unlock, per name and per address, from these rows.
    Never the password typed.
    """

    __tablename__ = "sign_in"


class KeptSession:
    """The columns of a session the server keeps; ``user_id`` is each table's own (a study's account, a server's owner)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    ended_why: Mapped[str | None] = mapped_column(String(40))


class WebSession(KeptSession, Base):
    """A signed-in browser: the server's record of its session, so the server can end it.

    The cookie holds a random session id; only its SHA-256 is kept here. A
    session ends at sign-out, when its person's password changes (their other
    sessions), their role changes or they are deactivated, after the idle
    timeout, and at the absolute timeout.
    """

    __tablename__ = "web_session"

    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), index=True)


class BlindRound(Base):
    """A round of independent coding: while it is open, its coders see and count only their own codings.

    Opened by an owner naming the coders and the transcripts they code; closed
    by an owner, after which everyone sees every coding again and the coders'
    agreement can be computed (on every transcript they share).
    """

    __tablename__ = "blind_round"

    id: Mapped[int] = mapped_column(primary_key=True)
    label: Mapped[str | None] = mapped_column(String(200))
    coders: Mapped[list[str]] = mapped_column(JSON)
    transcripts: Mapped[list[str]] = mapped_column(JSON)
    opened_by: Mapped[str] = mapped_column(String(100))
    opened_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Consensus(Base):
    """A consensus coding: the coder it is stored under, the coders whose codings it settles, and what it settles.

    Written by :func:`chorus.analysis.consensus`; ``cells`` are the (transcript
    id, code id) pairs the coders were compared on. The findings count the
    consensus on its transcripts and, in its cells, not its coders' own codings
    (:mod:`chorus.study.counting`). Writing it again replaces its codings, and
    its cells, on the transcripts written.
    """

    __tablename__ = "consensus"

    id: Mapped[int] = mapped_column(primary_key=True)
    coder_id: Mapped[int] = mapped_column(ForeignKey("coder.id"), unique=True)
    coders: Mapped[list[str]] = mapped_column(JSON)
    cells: Mapped[list[list[int]]] = mapped_column(JSON)
    unit: Mapped[str] = mapped_column(String(10))
    written_by: Mapped[str] = mapped_column(String(100))
    written_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    coder: Mapped[Coder] = relationship()


class ConsensusDecision(Base):
    """What the coders decided about one disagreement (keep, drop, or recode to another code), stored as it is made.

    A decision belongs to one comparison, its ``coders`` (sorted, comma-joined)
    and ``unit``; the consensus written from that comparison reads them back, so
    a refused write, a reload or a second person's visit loses none.
    """

    __tablename__ = "consensus_decision"
    __table_args__ = (UniqueConstraint("coders", "unit", "transcript_id", "turn", "sentence", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    coders: Mapped[str] = mapped_column(String(500))
    unit: Mapped[str] = mapped_column(String(10))
    transcript_id: Mapped[int] = mapped_column(ForeignKey("transcript.id", ondelete="CASCADE"))
    turn: Mapped[int] = mapped_column(Integer)
    sentence: Mapped[int] = mapped_column(Integer, default=0)
    code: Mapped[str] = mapped_column(String(200))
    decision: Mapped[str] = mapped_column(String(10))  # keep, drop, recode
    recode_to: Mapped[str | None] = mapped_column(String(200))
    decided_by: Mapped[str] = mapped_column(String(100))
    decided_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Job(Base):
    """Work the server does in the background for a person, such as transcribing a recording.

    States: ``queued``, ``running`` (``stage`` and ``fraction`` done), ``naming``
    (heard; waiting for someone to name its speakers), ``done``, ``failed`` (with
    the reason in ``error``), ``cancelled``. Progress is written outside the audit
    trail; submitting, cancelling and finishing are in it.
    """

    __tablename__ = "job"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))  # transcribe
    state: Mapped[str] = mapped_column(String(20), default="queued")
    stage: Mapped[str | None] = mapped_column(String(100))
    fraction: Mapped[float] = mapped_column(Float, default=0.0)
    recording: Mapped[str] = mapped_column(String(500))  # relative to the study folder
    group_name: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(200))  # the transcript's name
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    error: Mapped[str | None] = mapped_column(Text)
    worker: Mapped[str | None] = mapped_column(String(100))  # host:pid of the process running it
