"""Commune isolation: a session scoped to a commune only ever sees that commune's rows.

Web requests scope their session from the URL; jobs that work across communes
leave it unscoped and filter explicitly.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session, with_loader_criteria

from ticketing.models.base import TenantScoped

SCOPE_KEY = "commune_id"


def scope_session(session: Session, commune_id: int | None) -> None:
    if commune_id is None:
        session.info.pop(SCOPE_KEY, None)
    else:
        session.info[SCOPE_KEY] = commune_id


@contextmanager
def scoped_to(session: Session, commune_id: int) -> Iterator[Session]:
    previous = session.info.get(SCOPE_KEY)
    scope_session(session, commune_id)
    try:
        yield session
    finally:
        scope_session(session, previous)


@event.listens_for(Session, "do_orm_execute")
def _only_this_commune(state: ORMExecuteState) -> None:
    commune_id = state.session.info.get(SCOPE_KEY)
    if commune_id is None or state.is_column_load:
        return
    if state.is_select or state.is_update or state.is_delete:
        state.statement = state.statement.options(
            with_loader_criteria(
                TenantScoped,
                lambda cls: cls.commune_id == commune_id,
                include_aliases=True,
            )
        )


@event.listens_for(Session, "before_flush")
def _no_foreign_rows(session: Session, _context, _instances) -> None:  # type: ignore[no-untyped-def]
    """A scoped session may not write another commune's rows either."""
    commune_id = session.info.get(SCOPE_KEY)
    if commune_id is None:
        return
    for obj in (*session.new, *session.dirty):
        if isinstance(obj, TenantScoped) and obj.commune_id not in (None, commune_id):
            raise PermissionError("attempt to write a row of another commune")
