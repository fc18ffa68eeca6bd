"""Background jobs (APScheduler 3): they call the same use cases as the web."""

from __future__ import annotations

import logging
import smtplib

from apscheduler.schedulers.background import BackgroundScheduler
from flask import Flask, current_app
from flask_mail import Connection, Message

from ticketing.models import OutboxMessage
from ticketing.operations.outbox import DrainReport, drain_outbox
from ticketing.web.extensions import db

log = logging.getLogger(__name__)


SMTP_TIMEOUT_SECONDS = 30


class _TimedConnection(Connection):
    """Flask-Mail's connection with a socket timeout: a mute server must not hang the job."""

    def configure_host(self) -> smtplib.SMTP:
        factory = smtplib.SMTP_SSL if self.mail.use_ssl else smtplib.SMTP
        host = factory(self.mail.server, self.mail.port, timeout=SMTP_TIMEOUT_SECONDS)
        if self.mail.use_tls:
            host.starttls()
        if self.mail.username and self.mail.password:
            host.login(self.mail.username, self.mail.password)
        return host


def send_with_flask_mail(message: OutboxMessage) -> None:
    """Deliver one outbox message through Flask-Mail (needs an app context)."""
    with _TimedConnection(current_app.extensions["mail"]) as connection:
        connection.send(Message(
            subject=message.subject,
            recipients=[message.to_address],
            body=message.body_text,
            reply_to=message.reply_to,
            extra_headers=dict(message.headers or {}),
        ))


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
