"""Which codings a study's findings count: the coding of record.

A study coded by several people holds several codings of the same passage and,
once the team has met, a consensus of them too. A published table counts each
passage once, from the coding the team agreed on. The *basis* says which:

- ``auto`` (the default): every coder's codings, except that where a consensus
  is written, its coders' codings of the codes they were compared on give way to
  the consensus, on the transcripts it covers (a coder nobody compared them with
  still counts there); the consensus coders' own work is their consensus;
- ``everyone``: every coder's own codings, no consensus;
- coder names (``"ann,ben"``): those coders' codings only (naming a consensus
  coder counts that consensus alone).

Wherever several coders count on a transcript, a passage that several of them
gave the same code is counted once: per code and turn, the codings of one coder
stand for all (the coder with most segments there, then the first coder), so two
coders who code alike count as one.

:func:`counting` resolves a basis against the study as it is now; every analysis
reads codings through :mod:`chorus.analysis.frames`, which applies it, so an
analysis added later cannot count a passage twice.

>>> with study.reading() as session:                         # doctest: +SKIP
...     counting(session, "auto").line
"Findings count the consensus coding of ann and ben (written 7 December 2026, coder 'consensus') for 5 codes ..."
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, exists, func, not_, or_, select
from sqlalchemy.orm import Session

from chorus.errors import ChorusError
from chorus.study.models import BlindRound, Coder, Coding, Consensus, Transcript, as_utc

#: The bases by name; any other value names coders.
AUTO, EVERYONE = "auto", "everyone"
#: What the option says, for the command line's and the pages' help.
HELP = ("Which coding the findings count: auto (the consensus where one is written, elsewhere every coder, "
        "a passage several coders gave the same code counted once), everyone (every coder, no consensus), "
        "or coder names (ann,ben).")


@dataclass(frozen=True)
class Basis:
    """Which codings count: follow a written consensus (``auto``), or count ``coders`` (none named: every coder).

    >>> str(Basis.of("ann, ben"))
    'ann,ben'
    >>> Basis.of(None) == Basis.of("auto")
    True
    """

    coders: tuple[str, ...] = ()
    follow_consensus: bool = True

    @classmethod
    def of(cls, given: Basis | str | None) -> Basis:
        """The basis a value names: a :class:`Basis`, ``auto`` (or nothing), ``everyone``, or coder names with commas."""
        if isinstance(given, Basis):
            return given
        text = (given or "").strip()
        if text.casefold() in ("", AUTO):
            return cls()
        if text.casefold() == EVERYONE:
            return cls(follow_consensus=False)
        return cls(coders=tuple(dict.fromkeys(n.strip() for n in text.split(",") if n.strip())), follow_consensus=False)

    def __str__(self) -> str:
        return ",".join(self.coders) if self.coders else AUTO if self.follow_consensus else EVERYONE


@dataclass(frozen=True)
class Followed:
    """A consensus the findings count: its coder, the coders it settles, and the (transcript, code) cells it settles."""

    coder: str
    coder_id: int
    coders: tuple[str, ...]
    coder_ids: frozenset[int]
    cells: frozenset[tuple[int, int]]
    written_at: datetime
    blind: int  #: how many of its transcripts its coders coded in a blind round together

    @property
    def transcript_ids(self) -> frozenset[int]:
        """The transcripts it covers."""
        return frozenset(t for t, _ in self.cells)

    @property
    def codes(self) -> int:
        """How many codes it settles."""
        return len({c for _, c in self.cells})


@dataclass(frozen=True)
class Counting:
    """A basis resolved against the study: whose codings count where.

    ``followed``: the consensus codings counted, each on its transcripts;
    ``coders``: the coders counted elsewhere (several: each passage once),
    ``chosen`` by the analyst or every coder; ``unfiltered`` when every coding
    counts as it is; ``transcripts``: how many transcripts the study has.
    """

    basis: Basis
    followed: tuple[Followed, ...]
    coders: tuple[str, ...]
    coder_ids: frozenset[int]
    chosen: bool
    unfiltered: bool
    transcripts: int
    #: each consensus coder with the coders whose consensus it is: a basis that names one says whose it is
    consensus_of: tuple[tuple[str, tuple[str, ...]], ...] = ()

    @property
    def single(self) -> bool:
        """True when at most one coder's codings count anywhere: no passage can be counted twice."""
        return len(self.coder_ids) + len(self.followed) <= 1

    def clause(self) -> ColumnElement[bool] | None:
        """The condition on :class:`~chorus.study.models.Coding` that keeps the codings counted (None: all count)."""
        if self.unfiltered:
            return None
        parts = [and_(Coding.coder_id == f.coder_id, Coding.transcript_id.in_(sorted(f.transcript_ids))) for f in self.followed]
        rest = [Coding.coder_id.in_(sorted(self.coder_ids))]
        for f in self.followed:  # where a consensus settled a code, its own coders' codings of it give way to it
            settled: dict[int, set[int]] = {}
            for transcript, code in f.cells:
                settled.setdefault(transcript, set()).add(code)
            cells = or_(*(and_(Coding.transcript_id == t, Coding.code_id.in_(sorted(codes))) for t, codes in sorted(settled.items())))
            rest.append(not_(and_(Coding.coder_id.in_(sorted(f.coder_ids)), cells)))
        parts.append(and_(*rest))
        return or_(*parts)

    @property
    def line(self) -> str:
        """What the findings count, in one line: the report and every analysis page show it."""
        return " ".join(self._sentences(methods=False))

    @property
    def sentence(self) -> str:
        """What the findings count, as the methods section says it (with the blind round where there was one)."""
        return " ".join(self._sentences(methods=True))

    def _sentences(self, methods: bool) -> list[str]:
        others = _coders_said(self.coders, not self.chosen, dict(self.consensus_of), methods)
        if not self.followed:
            if not self.coders:
                return ["Findings count no codings yet."]
            return [f"Findings count {others}{_once(self.coders)}."]
        said = []
        for n, f in enumerate(self.followed):
            written = f"written {f.written_at.day} {f.written_at:%B %Y}" + ("" if methods else f", coder {f.coder!r}")
            covered = len(f.transcript_ids)
            where = (f" for the {f.codes} code{'s' if f.codes != 1 else ''} they compared"
                     + ("" if covered >= self.transcripts else f" on {covered} of {self.transcripts} transcripts"))
            said.append(f"{'Findings count' if n == 0 else 'and'} the consensus coding of {_and(f.coders)} ({written}) in place of their "
                        f"own{where}")
        text = [", ".join(said) + "."]
        if methods:
            text += [f"{_and(f.coders)} coded {f.blind} of {self.transcripts} transcripts independently in a blind round."
                     for f in self.followed if f.blind]
        if self.coders:
            text.append(f"Everything else counts as coded: {others}{_once(self.coders)}.")
        return text


def _and(names: tuple[str, ...] | list[str]) -> str:
    names = list(names)
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _coders_said(coders: tuple[str, ...], every: bool, consensus_of: dict[str, tuple[str, ...]] | None = None, methods: bool = False) -> str:
    if len(coders) == 1:
        of = (consensus_of or {}).get(coders[0])
        if of:  # a consensus is not a person: "the codings of consensus" read as if it were
            return f"the consensus coding of {_and(of)}" + ("" if methods else f" (coder {coders[0]!r})")
        return f"the codings of {coders[0]}"
    return f"every coder's codings ({', '.join(coders)})" if every else f"the codings of {_and(coders)}"


def _once(coders: tuple[str, ...]) -> str:
    return ", a passage that several coders gave the same code counted once" if len(coders) > 1 else ""


def counting(session: Session, basis: Basis | str | None = None) -> Counting:
    """Resolve ``basis`` against the study as ``session`` reads it (narrowed, in a blind round, to the reader's codings)."""
    basis = Basis.of(basis)
    coding = dict(session.execute(select(Coder.id, Coder.name).where(_has_coded())).all())
    written = session.execute(select(Consensus, Coder.name).join(Coder, Coder.id == Consensus.coder_id)).all()
    consensus_ids = {c.coder_id for c, _ in written}
    transcripts = int(session.scalar(select(func.count()).select_from(Transcript)) or 0)
    named = set(basis.coders) | {c for record, _ in written for c in record.coders}  # coders the basis and the consensus name
    ids = dict(session.execute(select(Coder.name, Coder.id).where(Coder.name.in_(named))).all()) if named else {}
    if basis.coders:
        missing = [c for c in basis.coders if c not in ids]
        if missing:
            every = ", ".join(sorted(coding.values())) or "none yet"
            raise ChorusError(f"no coder called {', '.join(map(repr, missing))} has coded in this study (coders: {every}); "
                              "count auto, everyone, or coders by name")
        counted = {ids[c]: c for c in basis.coders}
    else:
        counted = {i: name for i, name in coding.items() if i not in consensus_ids}
    followed = tuple(
        Followed(name, record.coder_id, tuple(record.coders), frozenset(ids[c] for c in record.coders if c in ids),
                 frozenset((int(t), int(c)) for t, c in record.cells), as_utc(record.written_at),
                 _blind(session, record.coders, {int(t) for t, _ in record.cells}))
        for record, name in sorted(written, key=lambda row: as_utc(row[0].written_at))
        if basis.follow_consensus and record.coder_id in coding and record.cells
    )
    unfiltered = not followed and not basis.coders and not consensus_ids
    return Counting(basis, followed, tuple(sorted(counted.values())), frozenset(counted), bool(basis.coders), unfiltered, transcripts,
                    tuple((name, tuple(record.coders)) for record, name in written if name in basis.coders))


def coders(session: Session) -> dict[str, set[int]]:
    """Each coder who has coded, with the transcripts they coded: people and autocoders, never a consensus (its coders' own work)."""
    coded: dict[str, set[int]] = {}
    for name, transcript in session.execute(select(Coder.name, Coding.transcript_id).join(Coder, Coder.id == Coding.coder_id)
                                            .where(Coding.coder_id.not_in(select(Consensus.coder_id))).distinct()):
        coded.setdefault(name, set()).add(transcript)
    return coded


def choices(session: Session) -> list[tuple[str, str]]:
    """The bases a reader can choose, as (value, what it counts): auto, everyone, and each coder who has coded."""
    coders = sorted(session.scalars(select(Coder.name).where(_has_coded())))
    consensus_of = dict(session.execute(select(Coder.name, Consensus.coders).join(Consensus, Consensus.coder_id == Coder.id)).all())
    return [(AUTO, "the consensus where written, else every coder"), (EVERYONE, "every coder, no consensus"),
            *((name, f"the consensus of {_and(consensus_of[name])} ({name})" if consensus_of.get(name) else f"{name}'s codings")
              for name in coders)]


def _has_coded() -> ColumnElement[bool]:
    """The condition that a coder has a coding: one look-up in the coder index per coder, not a scan of every coding."""
    return exists().where(Coding.coder_id == Coder.id)


def _blind(session: Session, coders: list[str], transcripts: set[int]) -> int:
    """How many of ``transcripts`` all of ``coders`` coded in one blind round."""
    names = dict(session.execute(select(Transcript.name, Transcript.id).where(Transcript.id.in_(transcripts))).all())
    rounds = session.scalars(select(BlindRound)).all()
    return len({names[t] for r in rounds if set(coders) <= set(r.coders) for t in r.transcripts if t in names})
