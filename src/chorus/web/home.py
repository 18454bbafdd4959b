"""A server's home: a folder of studies, the people who run the server, and its one-time setup link.

``chorus serve --home DIR`` serves every study folder in ``DIR``. The server's
owners (who create studies) are kept in ``DIR/.chorus-home.sqlite``; each study
keeps its own accounts and roles, as a study served alone does, and the owner
who creates a study becomes its first owner with the same sign-in.

A new home has no owner and no default account or password: the server prints
a setup link holding a random token, good once and for a short time, and
whoever opens it first creates the first owner.

>>> home = Home("/srv/chorus")                                  # doctest: +SKIP
>>> token = home.setup_token()                                  # doctest: +SKIP
>>> home.redeem(token, "ann", "a long passphrase")              # doctest: +SKIP
>>> home.create_study("pc-study", "Palliative care in oncology", "ann")   # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import Column, DateTime, ForeignKey, Integer, MetaData, String, Table, create_engine, delete, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

from chorus.errors import ChorusError
from chorus.study import store
from chorus.study.models import KeptSession, SignInAttempt, as_utc
from chorus.study.store import Study
from chorus.web import users

REGISTRY = ".chorus-home.sqlite"
#: How long a setup link stays good.
SETUP_MINUTES = 15
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")

_metadata = MetaData()
_owners = Table(
    "server_owner", _metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(100), unique=True, nullable=False),
    Column("password_hash", String(200), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)
_tokens = Table(
    "setup_token", _metadata,
    Column("digest", String(64), primary_key=True),  # the token's SHA-256: the token itself is never stored
    Column("expires_at", DateTime(timezone=True), nullable=False),
)


class _Registry(DeclarativeBase):
    metadata = _metadata


class OwnerSignIn(SignInAttempt, _Registry):
    """An attempt at the server owners' sign-in form, as a study keeps its accounts' (:class:`chorus.study.models.SignIn`)."""

    __tablename__ = "sign_in"


class OwnerSession(KeptSession, _Registry):
    """A server owner's signed-in browser, kept as a study keeps its accounts' (:class:`chorus.study.models.WebSession`)."""

    __tablename__ = "owner_session"

    user_id: Mapped[int] = mapped_column(ForeignKey("server_owner.id", ondelete="CASCADE"), index=True)


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class Home:
    """The folder ``chorus serve --home`` serves: its studies, its owners, its setup link.

    ``db`` is the server's PostgreSQL (``postgresql://user@host/db``): studies
    created in the browser then keep their store there, each in a schema of its
    own; without it each study's store is a SQLite file in its folder.
    """

    def __init__(self, folder: str | Path, db: str | None = None):
        self.folder = Path(folder).resolve()
        self.folder.mkdir(parents=True, exist_ok=True)
        self.db = db
        self.engine = create_engine(f"sqlite:///{self.folder / REGISTRY}")
        _metadata.create_all(self.engine)  # a registry made by an earlier Chorus gains the tables it lacks
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._opened: dict[str, Study] = {}

    #: Where the owners' sign-in attempts are kept (see :mod:`chorus.web.signin`).
    sign_ins = OwnerSignIn

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """A session on the registry for queries."""
        with self._sessions() as session:
            yield session

    looking_up = reading  # the registry is a SQLite file: a lone read is read as any other

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session on the registry, committed on success and rolled back on any error."""
        with self._sessions.begin() as session:
            yield session

    # --- owners and the setup link ------------------------------------------------

    def has_owner(self) -> bool:
        """Whether anyone has set the server up yet."""
        with self.engine.connect() as connection:
            return connection.execute(select(_owners.c.id).limit(1)).first() is not None

    def setup_token(self) -> str:
        """A new setup token, good once for :data:`SETUP_MINUTES`; any earlier one stops working."""
        if self.has_owner():
            raise ChorusError(f"{self.folder} is set up already; its owners create studies and accounts")
        token = secrets.token_urlsafe(32)
        with self.engine.begin() as connection:
            connection.execute(delete(_tokens))
            connection.execute(_tokens.insert().values(digest=_digest(token), expires_at=_now() + timedelta(minutes=SETUP_MINUTES)))
        return token

    def token_is_good(self, token: str) -> bool:
        """Whether ``token`` would set the server up now (no owner yet, token current)."""
        with self.engine.connect() as connection:
            expires = connection.execute(select(_tokens.c.expires_at).where(_tokens.c.digest == _digest(token))).scalar()
        return expires is not None and as_utc(expires) > _now() and not self.has_owner()

    def redeem(self, token: str, name: str, password: str) -> int:
        """Create the first owner with the setup token, which then stops working (also for a second, racing request); their id."""
        users.check_account(name, password, [self.folder.name])
        password_hash = users.hash_password(password)
        with self.engine.begin() as connection:
            used = connection.execute(
                delete(_tokens).where(_tokens.c.digest == _digest(token), _tokens.c.expires_at > _now())
            ).rowcount
            if used != 1 or connection.execute(select(_owners.c.id).limit(1)).first() is not None:
                raise ChorusError("this setup link is used or out of date; whoever started the server gets a new one by restarting it")
            return connection.execute(_owners.insert().values(name=name, password_hash=password_hash, created_at=_now())).inserted_primary_key[0]

    def verify(self, name: str, password: str) -> tuple[int, str] | None:
        """``(id, name)`` of the server owner when the password is right, else None (as long either way)."""
        with self.engine.connect() as connection:
            row = connection.execute(select(_owners.c.id, _owners.c.name, _owners.c.password_hash).where(_owners.c.name == name)).first()
        if not users.password_matches(row.password_hash if row else None, password):
            return None
        return row.id, row.name

    def owner(self, owner_id: int) -> str | None:
        """The name of server owner ``owner_id``, or None when there is none (any more)."""
        with self.engine.connect() as connection:
            return connection.execute(select(_owners.c.name).where(_owners.c.id == owner_id)).scalar()

    # --- studies --------------------------------------------------------------------

    def studies(self) -> list[tuple[str, str]]:
        """``(folder name, study name)`` of every study in the home, by folder name."""
        found = []
        for folder in sorted(p for p in self.folder.iterdir() if (p / store.CONFIG_FILE).is_file()):
            found.append((folder.name, self.study(folder.name).name))
        return found

    def study(self, slug: str) -> Study:
        """The study in folder ``slug``, opened once per process."""
        if slug not in self._opened:
            if not _SLUG.match(slug) or not (self.folder / slug / store.CONFIG_FILE).is_file():
                raise ChorusError(f"there is no study {slug!r} on this server")
            self._opened[slug] = store.open(self.folder / slug)
        return self._opened[slug]

    def create_study(self, slug: str, title: str, owner: str) -> Study:
        """A new study in folder ``slug`` titled ``title``, with server owner ``owner`` as its first owner."""
        if not _SLUG.match(slug):
            raise ChorusError(f"{slug!r} cannot name a study folder: use 1 to 63 lower-case letters, digits and hyphens, e.g. pc-study")
        title = title.strip()
        if not title or len(title) > 200:
            raise ChorusError("a study's title is 1 to 200 characters")
        if (self.folder / slug).exists():
            raise ChorusError(f"there is already a folder {slug!r} on this server; choose another name")
        with self.engine.connect() as connection:
            password_hash = connection.execute(select(_owners.c.password_hash).where(_owners.c.name == owner)).scalar()
        if password_hash is None:
            raise ChorusError(f"{owner!r} is not an owner of this server")
        study = store.init(self.folder / slug, db=self._schema_for(slug), name=title)
        try:
            users.add_account(study, owner, password_hash, "owner")
        except (ChorusError, IntegrityError):
            study.close()
            raise
        self._opened[slug] = study
        return study

    def _schema_for(self, slug: str) -> str | None:
        """The study's store on the server's PostgreSQL: a schema of its own (None: SQLite in its folder)."""
        if self.db is None:
            return None
        schema = "study_" + slug.replace("-", "_")
        engine = create_engine(store._normalise_url(self.db))
        try:
            with engine.begin() as connection:
                connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        finally:
            engine.dispose()
        separator = "&" if "?" in self.db else "?"
        return f"{self.db}{separator}options=-csearch_path%3D{schema}"

    def close(self) -> None:
        """Close every opened study and the registry."""
        for study in self._opened.values():
            study.close()
        self._opened.clear()
        self.engine.dispose()


