"""Accounts of the web app: a name, an argon2id password hash and a role in the study.

Roles: ``viewer`` reads everything; ``coder`` also codes, uncodes and writes
memos (their codings are under the coder of their own name, so agreement can be
computed); ``owner`` also edits the codebook and manages the study. There is no
default account and no default password: accounts are made with
``chorus users add NAME --role ROLE``, or by a study's owners in the browser.
"""

from __future__ import annotations

import functools
import hashlib
import re
import secrets
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import pandas as pd
from sqlalchemy import select, update

from chorus.errors import ChorusError, NotFound
from chorus.study.models import User, WebSession, as_utc, utcnow
from chorus.study.store import Study

ROLES = ("viewer", "coder", "owner")
MIN_PASSWORD = 10
#: The least zxcvbn score (0-4) a password needs: 3 is 'safely unguessable', about 10^8-10^10 guesses.
MIN_STRENGTH = 3
#: How long a password-reset link works.
RESET_HOURS = 24


@functools.lru_cache(maxsize=1)
def _hasher() -> tuple[Any, str]:
    """argon2id with its default (OWASP-level) costs, and a hash to check when no such user exists."""
    try:
        from argon2 import PasswordHasher
    except ImportError:
        raise ChorusError("the web app needs its extra: pip install 'chorus-qda[web]'") from None
    hasher = PasswordHasher()
    return hasher, hasher.hash("no such user: the same work either way")  # a wrong name costs what a wrong password does


def rank(role: str) -> int:
    """How much a role may do (viewer < coder < owner)."""
    return ROLES.index(role)


def known_words(*texts: str) -> list[str]:
    """What a guesser of a password knows: ``texts`` (a study's title, a person's name), the server's host name and the app's.

    Each whole and word by word; zxcvbn counts a password made of them as easy to guess.
    """
    import socket

    given = [*texts, socket.gethostname(), "chorus"]
    return [*given, *(word for text in given for word in re.findall(r"[^\W\d_]{3,}", text))]


def check_account(name: str, password: str, known: Sequence[str] = ()) -> None:
    """Refuse a name or password an account cannot have, saying what it needs.

    ``known``: the study's title and anything else a guesser would try first; with the
    person's name and the server's they are zxcvbn's user inputs, so "Palliative2025"
    is too easy on a palliative-care study.
    """
    if not name.strip() or len(name) > 100:
        raise ChorusError("a user name is 1 to 100 characters")
    if len(password) < MIN_PASSWORD:
        raise ChorusError(f"passwords are at least {MIN_PASSWORD} characters")
    from zxcvbn import zxcvbn  # Dropbox's estimator with its frequency lists, offline; loads them on first use

    estimate = zxcvbn(password[:100], user_inputs=known_words(name, *known))  # its work grows fast with length; 100 characters say enough
    if estimate["score"] < MIN_STRENGTH:
        advice = " ".join(filter(None, [estimate["feedback"]["warning"], *estimate["feedback"]["suggestions"]]))
        raise ChorusError(f"this password is too easy to guess{': ' + advice if advice else ''} (a few uncommon words together make a strong one)")


def hash_password(password: str) -> str:
    """The argon2id hash kept instead of a password."""
    return _hasher()[0].hash(password)


def password_matches(password_hash: str | None, password: str) -> bool:
    """Whether ``password`` is the one hashed (None: no such account; it takes as long either way)."""
    from argon2.exceptions import InvalidHashError, VerificationError

    hasher, dummy = _hasher()
    try:
        hasher.verify(password_hash or dummy, password)
    except (VerificationError, InvalidHashError):
        return False
    return password_hash is not None


def add_user(study: Study, name: str, password: str, role: str) -> None:
    """Create an account; the password is kept only as an argon2id hash."""
    check_account(name, password, [study.name])
    add_account(study, name, hash_password(password), role)


def add_account(study: Study, name: str, password_hash: str, role: str) -> None:
    """Create an account from a password hash already made (a server owner becoming a new study's owner)."""
    if role not in ROLES:
        raise ChorusError(f"role {role!r} is not one of {', '.join(ROLES)}")
    with study.transaction() as session:
        if session.scalar(select(User).where(User.name == name)) is not None:
            raise ChorusError(f"there is already a user called {name!r}")
        session.add(User(name=name, password_hash=password_hash, role=role))


def account(session: Any, name: str) -> User:
    """The account called ``name``; NotFound, naming the study's accounts, if there is none."""
    user = session.scalar(select(User).where(User.name == name))
    if user is None:
        known = ", ".join(session.scalars(select(User.name).order_by(User.name)))
        raise NotFound(f"there is no user called {name!r} (users: {known or 'none yet'})")
    return user


def end_sessions(session: Any, user: User, why: str) -> None:
    """End every web session of ``user`` (in the transaction that changes their password, role or access)."""
    session.execute(
        update(WebSession).where(WebSession.user_id == user.id, WebSession.ended_at.is_(None)).values(ended_at=utcnow(), ended_why=why)
    )


def _new_password(session: Any, user: User, password: str) -> None:
    """Give ``user`` the new password: any reset link stops working, and their sessions end."""
    user.password_hash, user.reset_digest, user.reset_expires = hash_password(password), None, None
    end_sessions(session, user, "password changed")


def _owners_left(session: Any, without: User) -> bool:
    return session.scalar(select(User.id).where(User.role == "owner", User.active, User.id != without.id).limit(1)) is not None


def set_role(study: Study, name: str, role: str) -> None:
    """Change what a user may do; the last active owner stays an owner."""
    if role not in ROLES:
        raise ChorusError(f"role {role!r} is not one of {', '.join(ROLES)}")
    with study.transaction() as session:
        user = account(session, name)
        if user.role == "owner" and role != "owner" and not _owners_left(session, user):
            raise ChorusError(f"{name} is the study's last owner; make someone else an owner first")
        if user.role != role:
            end_sessions(session, user, "role changed")
        user.role = role


def set_active(study: Study, name: str, active: bool) -> None:
    """Deactivate an account (its next request is refused, its codings stay) or activate it again."""
    with study.transaction() as session:
        user = account(session, name)
        if not active and user.role == "owner" and not _owners_left(session, user):
            raise ChorusError(f"{name} is the study's last owner; make someone else an owner first")
        if not active:
            end_sessions(session, user, "deactivated")
        user.active = active


def reset_link_token(study: Study, name: str) -> str:
    """A one-time token for ``name`` to choose a new password with, good for :data:`RESET_HOURS`.

    Their old password stops working at once; only the token's SHA-256 is kept,
    so the link is shown once, to the owner who asked for it, and cannot be read back.
    """
    token = secrets.token_urlsafe(32)
    with study.transaction() as session:
        user = account(session, name)
        user.password_hash = hash_password(secrets.token_urlsafe(32))  # nobody knows it
        end_sessions(session, user, "password reset")
        user.reset_digest = hashlib.sha256(token.encode()).hexdigest()
        user.reset_expires = utcnow() + timedelta(hours=RESET_HOURS)
    return token


def reset_password(study: Study, token: str, password: str) -> str:
    """Set a new password with a reset token, which then stops working; the account's name."""
    with study.transaction() as session:
        user = session.scalar(select(User).where(User.reset_digest == hashlib.sha256(token.encode()).hexdigest()))
        expires = user.reset_expires if user else None
        if user is None or expires is None or as_utc(expires) < utcnow():
            raise ChorusError("this reset link is used up or out of date; ask an owner for a new one")
        check_account(user.name, password, [study.name])
        _new_password(session, user, password)
        return user.name


def set_password(study: Study, name: str, password: str) -> None:
    """Give an account a new password (an owner at the terminal: ``chorus users reset-password``); any reset link stops working."""
    check_account(name, password, [study.name])
    with study.transaction() as session:
        _new_password(session, account(session, name), password)


def change_password(study: Study, name: str, current: str, new: str) -> None:
    """Change one's own password, knowing the current one."""
    if verify(study, name, current) is None:
        raise ChorusError("the current password is not right")
    set_password(study, name, new)


def users(study: Study) -> pd.DataFrame:
    """The accounts: ``name, role, active, created_at`` (never their hashes)."""
    with study.reading() as session:
        rows = session.execute(select(User.name, User.role, User.active, User.created_at).order_by(User.name)).all()
    return pd.DataFrame(rows, columns=["name", "role", "active", "created_at"])


def verify(study: Study, name: str, password: str) -> tuple[int, str, str] | None:
    """``(id, name, role)`` when the password is right and the account active, else None (taking as long either way)."""
    with study.reading() as session:
        user = session.scalar(select(User).where(User.name == name))
        found = (user.id, user.name, user.role, user.password_hash if user.active else None) if user else None
    if not password_matches(found[3] if found else None, password):
        return None
    return found[:3] if found else None
