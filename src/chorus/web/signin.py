"""Sign-in throttling: growing delays after failed sign-ins and a temporary lock, per name and per address.

Every attempt is a row of ``sign_in`` (and so an entry of the audit trail: who,
when, from where, how it ended; never the password typed). Whether the next
attempt may be checked is read from those rows before any password hash is
computed, so a guesser is refused at no cost to the server:

- a name: after its k-th failure in a row (since it last signed in or was
  unlocked), beyond the ``free_failures`` anyone makes mistyping, the next
  attempt must wait ``first_delay * 2**(k - free_failures - 1)`` seconds (at
  most ``max_delay``); at ``lock_after`` failures it is locked for
  ``lock_minutes``, or until an owner unlocks it;
- an address: at ``address_lock_after`` failures within ``lock_minutes`` (since
  it was last unlocked), it may not try any name until they fall out of that window.

A study keeps its accounts' attempts in ``sign_in``; a server home keeps its owners'
in its registry (:class:`chorus.web.home.OwnerSignIn`), through the same functions.

>>> refusal(study, "cora", "127.0.0.1")                         # doctest: +SKIP
'too many failed sign-ins for cora; try again in 15 minutes or ask an owner to unlock it'
"""

from __future__ import annotations

import math
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from chorus.errors import ChorusError
from chorus.study.models import SignIn, SignInAttempt, User, as_utc, utcnow
from chorus.study.store import Study
from chorus.web.users import account


class Ledger(Protocol):
    """Where sign-ins and sessions are kept: a :class:`~chorus.study.store.Study`, or a server's :class:`~chorus.web.home.Home`."""

    folder: Path

    def reading(self) -> AbstractContextManager[Session]: ...

    def looking_up(self) -> AbstractContextManager[Session]: ...

    def transaction(self) -> AbstractContextManager[Session]: ...


def _kept_in(ledger: Ledger) -> type[SignInAttempt]:
    """The table a ledger keeps attempts in: a study's ``sign_in``, or the one the ledger names (``sign_ins``)."""
    return getattr(ledger, "sign_ins", SignIn)


#: How a sign-in ends, as the ``sign_in`` table records it.
OUTCOMES = ("signed in", "failed", "refused", "locked", "unlocked", "signed out")


@dataclass(frozen=True)
class Throttle:
    """How hard sign-in is on guessers (``chorus serve --lock-after --lock-minutes`` set the two an operator tunes)."""

    lock_after: int = 10
    address_lock_after: int = 50
    lock_minutes: float = 15.0
    first_delay: float = 1.0
    max_delay: float = 30.0
    free_failures: int = 2

    def __post_init__(self) -> None:
        if min(self.lock_after, self.address_lock_after) < 1 or self.lock_minutes <= 0 or min(self.first_delay, self.max_delay, self.free_failures) < 0:
            raise ChorusError("sign-in throttling needs thresholds of at least 1 and times of at least 0")


def _failures(session: Session, name: str, kept: type[SignInAttempt] = SignIn) -> tuple[int, datetime | None]:
    """Failures in a row for ``name`` since it last signed in or was unlocked, and the time of the last."""
    count, last = 0, None
    for outcome, at in session.execute(
        select(kept.outcome, kept.at).where(kept.name == name, kept.outcome.in_(("signed in", "unlocked", "failed")))
        .order_by(kept.id.desc()).limit(1000)
    ):
        if outcome != "failed":
            break
        count, last = count + 1, last or as_utc(at)
    return count, last


def _address_failures(session: Session, address: str, since: datetime, kept: type[SignInAttempt]) -> list[datetime]:
    """Times of the failures from ``address`` after ``since`` and after its last unlock, oldest first."""
    unlocked = session.scalar(
        select(kept.at).where(kept.address == address, kept.outcome == "unlocked", kept.name == "").order_by(kept.id.desc()).limit(1)
    )
    start = max(since, as_utc(unlocked)) if unlocked else since
    return sorted(as_utc(at) for at in session.scalars(
        select(kept.at).where(kept.address == address, kept.outcome == "failed", kept.at > start)
    ))


def _lock_ends(failures: tuple[int, datetime | None], throttle: Throttle, now: datetime) -> datetime | None:
    """When the lock ends on a name with these ``failures`` (in a row, and the last one's time), if it is locked now."""
    count, last = failures
    if count >= throttle.lock_after and last is not None and now < last + timedelta(minutes=throttle.lock_minutes):
        return last + timedelta(minutes=throttle.lock_minutes)
    return None


def refusal(
    ledger: Ledger, name: str, address: str, throttle: Throttle = Throttle(), now: datetime | None = None, owners_unlock: bool = True,
) -> str | None:
    """Why an attempt to sign in as ``name`` from ``address`` is refused before its password is checked, or None.

    ``owners_unlock``: whether someone can unlock a name before its lock ends, as a study's owners can (a server's
    owners cannot unlock each other), so that the refusal says so only where it is true.
    """
    now = now or utcnow()
    kept = _kept_in(ledger)
    with ledger.reading() as session:
        count, last = _failures(session, name, kept)
        recent = _address_failures(session, address, now - timedelta(minutes=throttle.lock_minutes), kept)
    ends = _lock_ends((count, last), throttle, now)
    if ends is not None:
        return f"too many failed sign-ins for {name}; try again in {_wait(ends - now)}" + (" or ask an owner to unlock it" if owners_unlock else "")
    if len(recent) >= throttle.address_lock_after:
        ends = recent[len(recent) - throttle.address_lock_after] + timedelta(minutes=throttle.lock_minutes)
        return f"too many failed sign-ins from this address; try again in {_wait(ends - now)}"
    if count > throttle.free_failures and last is not None and count < throttle.lock_after:
        ready = last + timedelta(seconds=min(throttle.first_delay * 2 ** (count - throttle.free_failures - 1), throttle.max_delay))
        if now < ready:
            return f"a failed sign-in for {name} just now; try again in {_wait(ready - now)}"
    return None


def _wait(left: timedelta) -> str:
    seconds = max(1, math.ceil(left.total_seconds()))
    return f"{seconds} second{'s' if seconds != 1 else ''}" if seconds < 120 else f"{math.ceil(seconds / 60)} minutes"


def record(ledger: Ledger, name: str, address: str, outcome: str, throttle: Throttle = Throttle()) -> str:
    """Keep what became of an attempt (and ``locked`` when a failure reaches the threshold); the outcome kept last.

    A study's audit trail names whoever :func:`chorus.study.store.acting_as` says (the web app: the name tried).
    """
    if outcome not in OUTCOMES:
        raise ChorusError(f"a sign-in ends as one of {', '.join(OUTCOMES)}, not {outcome!r}")
    kept = _kept_in(ledger)
    with ledger.transaction() as session:
        session.add(kept(name=name, address=address, outcome=outcome))
        if outcome == "failed":
            session.flush()
            count, _ = _failures(session, name, kept)
            if count == throttle.lock_after:
                session.add(kept(name=name, address=address, outcome="locked"))
                return "locked"
    return outcome


def unlock(study: Study, name: str | None = None, address: str | None = None, by: str = "") -> None:
    """Let ``name`` (an account) or ``address`` try again at once, as owner ``by`` decides."""
    if (name is None) == (address is None):
        raise ChorusError("unlock a name or an address (--address), one at a time")
    with study.transaction() as session:
        if name is not None:
            account(session, name)
        session.add(SignIn(name=name or "", address=address or "", outcome="unlocked", by=by))


def locked(study: Study, throttle: Throttle = Throttle(), now: datetime | None = None) -> list[str]:
    """The accounts locked now, by name."""
    now = now or utcnow()
    with study.reading() as session:
        return [name for name in session.scalars(select(User.name).order_by(User.name)) if _lock_ends(_failures(session, name), throttle, now)]
