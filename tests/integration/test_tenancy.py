"""Several communes in one deployment: a session scoped to one commune never sees another's rows."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, update

from ticketing.models import Citizen, Ticket
from ticketing.tenancy import scoped_to
from ticketing.web.extensions import db


def test_scoped_session_sees_only_its_commune(  # type: ignore[no-untyped-def]
    app, file_request, demo_ctx, other_ctx
):
    file_request()
    file_request()
    file_request(commune="trifouillis-les-oies")
    with app.app_context():
        assert db.session.scalar(select(func.count(Ticket.id))) == 3
        with scoped_to(db.session, other_ctx.commune_id):
            tickets = db.session.scalars(select(Ticket)).all()
            assert [t.commune_id for t in tickets] == [other_ctx.commune_id]
            # joins and relationship targets are filtered too
            citizens = db.session.scalars(select(Citizen).join(Ticket)).all()
            assert {c.commune_id for c in citizens} == {other_ctx.commune_id}
        with scoped_to(db.session, demo_ctx.commune_id):
            assert db.session.scalar(select(func.count(Ticket.id))) == 2


def test_scoped_bulk_update_cannot_touch_another_commune(  # type: ignore[no-untyped-def]
    app, file_request, demo_ctx, other_ctx
):
    file_request()
    file_request(commune="trifouillis-les-oies")
    with app.app_context():
        with scoped_to(db.session, other_ctx.commune_id):
            db.session.execute(update(Ticket).values(priority="urgent"))
            db.session.commit()
        priorities = dict(db.session.execute(select(Ticket.commune_id, Ticket.priority)).all())
        assert priorities == {other_ctx.commune_id: "urgent", demo_ctx.commune_id: "normal"}


def test_scoped_session_refuses_to_write_another_communes_row(  # type: ignore[no-untyped-def]
    app, file_request, demo_ctx, other_ctx
):
    number, _ = file_request()
    with app.app_context():
        ticket = db.session.scalars(select(Ticket).where(Ticket.number == number)).one()
        with scoped_to(db.session, other_ctx.commune_id):
            ticket.priority = "urgent"
            with pytest.raises(PermissionError):
                db.session.flush()
        db.session.rollback()
