"""Accounts of the web app: a name, an argon2id password hash and a role in the study.

Roles: ``viewer`` reads everything; ``coder`` also codes, uncodes and writes
memos (their codings are under the coder of their own name, so agreement can be
computed); ``owner`` also edits the codebook and manages the study. There is no
default account and no default password: accounts are made with
``chorus users add NAME --role ROLE``, or by a study's owners in the browser.
"""

from __future__ import annotations

import functools
from typing import Any

import pandas as pd
from sqlalchemy import select

from chorus.errors import ChorusError
from chorus.study.models import User
from chorus.study.store import Study

ROLES = ("viewer", "coder", "owner")
MIN_PASSWORD = 10


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


def check_account(name: str, password: str) -> None:
    """Refuse a name or password an account cannot have, saying what it needs."""
    if not name.strip() or len(name) > 100:
        raise ChorusError("a user name is 1 to 100 characters")
    if len(password) < MIN_PASSWORD:
        raise ChorusError(f"passwords are at least {MIN_PASSWORD} characters")


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
    check_account(name, password)
    add_account(study, name, hash_password(password), role)


def add_account(study: Study, name: str, password_hash: str, role: str) -> None:
    """Create an account from a password hash already made (a server owner becoming a new study's owner)."""
    if role not in ROLES:
        raise ChorusError(f"role {role!r} is not one of {', '.join(ROLES)}")
    with study.transaction() as session:
        if session.scalar(select(User).where(User.name == name)) is not None:
            raise ChorusError(f"there is already a user called {name!r}")
        session.add(User(name=name, password_hash=password_hash, role=role))


def set_role(study: Study, name: str, role: str) -> None:
    """Change what a user may do."""
    if role not in ROLES:
        raise ChorusError(f"role {role!r} is not one of {', '.join(ROLES)}")
    with study.transaction() as session:
        user = session.scalar(select(User).where(User.name == name))
        if user is None:
            raise ChorusError(f"there is no user called {name!r}")
        user.role = role


def users(study: Study) -> pd.DataFrame:
    """The accounts: ``name, role, created_at`` (never their hashes)."""
    with study.reading() as session:
        rows = session.execute(select(User.name, User.role, User.created_at).order_by(User.name)).all()
    return pd.DataFrame(rows, columns=["name", "role", "created_at"])


def verify(study: Study, name: str, password: str) -> tuple[int, str, str] | None:
    """``(id, name, role)`` when the password is right, else None (taking as long either way)."""
    with study.reading() as session:
        user = session.scalar(select(User).where(User.name == name))
        found = (user.id, user.name, user.role, user.password_hash) if user else None
    if not password_matches(found[3] if found else None, password):
        return None
    return found[:3] if found else None
