"""The one declarative base, its naming convention, shared column types and the engine.

Models live with their domain; they all derive from `Base` so that Alembic sees one
metadata. `Database` is a Flask extension: one engine per app, one session per request.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Annotated, Any, cast

from flask import Flask, current_app, g
from sqlalchemy import DateTime, MetaData, String, create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, mapped_column, sessionmaker
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_id() -> str:
    return str(uuid.uuid4())


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite drops the offset otherwise)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


uuid_pk = Annotated[str, mapped_column(String(36), primary_key=True, default=new_id)]
created_at = Annotated[datetime, mapped_column(UTCDateTime(), default=utcnow, nullable=False)]
updated_at = Annotated[
    datetime, mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow, nullable=False)
]


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 15})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA busy_timeout=15000")
            cur.close()

        return engine
    return create_engine(
        url, pool_pre_ping=True, pool_size=10, max_overflow=10, connect_args={"connect_timeout": 5}
    )


class Database:
    """One engine and session factory per app; `db.session` is the request's session."""

    def __init__(self, url: str) -> None:
        self.engine = make_engine(url)
        self.factory = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A unit of work outside any request (CLI, jobs): commit on success, else roll back."""
        with self.factory() as session, session.begin():
            yield session


def init_app(app: Flask, url: str) -> Database:
    database = Database(url)
    app.extensions["idp.db"] = database
    app.teardown_appcontext(_close_request_session)
    return database


def _close_request_session(_exc: BaseException | None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.close()


class _CurrentDatabase:
    """Proxy to the current app's Database, so that code reads `db.session`."""

    @property
    def database(self) -> Database:
        return cast(Database, current_app.extensions["idp.db"])

    @property
    def session(self) -> Session:
        if "db_session" not in g:
            g.db_session = self.database.factory()
        return cast(Session, g.db_session)

    @property
    def engine(self) -> Engine:
        return self.database.engine

    def transaction(self) -> Any:
        return self.database.transaction()


db = _CurrentDatabase()
