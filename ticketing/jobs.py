"""Background jobs (APScheduler 3): they call the same use cases as the web."""

from __future__ import annotations

import logging

from apscheduler.schedulers.background import BackgroundScheduler
from flask import Flask
from flask_mail import Message

from ticketing.models import OutboxMessage
from ticketing.operations.outbox import DrainReport, drain_outbox
from ticketing.web.extensions import db, mail

log = logging.getLogger(__name__)


def send_with_flask_mail(message: OutboxMessage) -> None:
    """Deliver one outbox message through Flask-Mail (needs an app context)."""
    mail.send(
        Message(
            subject=message.subject,
            recipients=[message.to_address],
            body=message.body_text,
            reply_to=message.reply_to,
            extra_headers=dict(message.headers or {}),
        )
    )


def run_outbox(app: Flask) -> DrainReport:
    with app.app_context():
        report = drain_outbox(db.session, send_with_flask_mail)
        if report.sent or report.retried or report.dead:
            log.info("outbox: %s sent, %s to retry, %s given up",
                     report.sent, report.retried, report.dead)
        db.session.remove()
        return report


def start_scheduler(app: Flask) -> BackgroundScheduler:
    """Start the jobs of this process (one process per deployment runs them)."""
    settings = app.extensions["aiguillage"].settings
    scheduler = BackgroundScheduler(timezone="UTC")
    scheduler.add_job(run_outbox, "interval", args=[app], id="outbox",
                      seconds=settings.outbox_interval_seconds, max_instances=1, coalesce=True)
    scheduler.start()
    return scheduler
