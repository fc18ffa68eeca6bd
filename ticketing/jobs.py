"""Background jobs (APScheduler 3): they call the same use cases as the web."""

from __future__ import annotations

import logging
import smtplib

from apscheduler.schedulers.background import BackgroundScheduler
from flask import Flask, current_app
from flask_mail import Connection, Message

from ticketing.models import OutboxMessage
from ticketing.operations.job_lock import job_lock
from ticketing.operations.outbox import DrainReport, drain_outbox
from ticketing.operations.reminders import JobReport, run_deadline_jobs
from ticketing.operations.retention import RetentionReport, anonymise_due
from ticketing.web.extensions import db

log = logging.getLogger(__name__)


SMTP_TIMEOUT_SECONDS = 30
DEADLINES_INTERVAL_MINUTES = 15  # the jobs are idempotent: a run finds what is newly due
RETENTION_HOUR_UTC = 2  # RGPD anonymisation, once a day at night (idempotent too)


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
    mail_message = Message(
        subject=message.subject,
        recipients=[message.to_address],
        body=message.body_text,
        reply_to=message.reply_to,
        extra_headers=dict(message.headers or {}),
    )
    if message.message_id:  # signed: a reply to it finds its ticket (flask_mail has no param)
        mail_message.msgId = f"<{message.message_id}>"
    with _TimedConnection(current_app.extensions["mail"]) as connection:
        connection.send(mail_message)


def run_outbox(app: Flask) -> DrainReport:
    with app.app_context():
        report = drain_outbox(db.session, send_with_flask_mail)
        if report.sent or report.retried or report.dead:
            log.info("outbox: %s sent, %s to retry, %s given up",
                     report.sent, report.retried, report.dead)
        db.session.remove()
        return report


def run_deadlines(app: Flask) -> JobReport | None:
    """Warnings, escalations, alerts and digests; None when another instance is running them."""
    with app.app_context():
        with job_lock(db.engine, "deadlines") as acquired:
            if not acquired:
                return None
            registry = app.extensions["aiguillage"]
            contexts = [registry.context(slug) for slug in registry.configs]
            report = run_deadline_jobs(db.session, [c for c in contexts if c is not None])
        if report.total():
            log.info("deadlines: %s", report)
        db.session.remove()
        return report


def run_retention(app: Flask, commune: str | None = None,
                  dry_run: bool = False) -> list[RetentionReport] | None:
    """Anonymise the requests past their retention delay (every commune, or one); None when
    another instance is running it."""
    registry = app.extensions["aiguillage"]
    slugs = [commune] if commune else list(registry.configs)
    with app.app_context():
        with job_lock(db.engine, "retention") as acquired:
            if not acquired:
                return None
            reports = []
            for slug in slugs:
                ctx = registry.context(slug)
                if ctx is None:
                    continue
                report = anonymise_due(db.session, ctx, registry.settings.data_dir / "mail",
                                       dry_run=dry_run)
                if report.numbers and not dry_run:
                    log.info("retention: %s", report.summary())
                reports.append(report)
        db.session.remove()
        return reports


def run_all_once(app: Flask) -> dict[str, object]:
    """Every job once (``aiguillage jobs run-once``: tests and cron)."""
    return {"deadlines": run_deadlines(app), "outbox": run_outbox(app),
            "retention": run_retention(app)}


def run_mail_poll(app: Flask):  # type: ignore[no-untyped-def]
    """One pass over every configured mailbox (``aiguillage mail poll --once``)."""
    from mail_ingest.poller import poll_all

    registry = app.extensions["aiguillage"]
    with app.app_context():
        contexts = [registry.context(slug) for slug in registry.configs]
        report = poll_all(db.session, [c for c in contexts if c is not None],
                          registry.settings.data_dir / "mail")
        db.session.remove()
    return report


def start_scheduler(app: Flask) -> BackgroundScheduler:
    """Start the jobs of this process (one process per deployment runs them)."""
    settings = app.extensions["aiguillage"].settings
    scheduler = BackgroundScheduler(timezone="UTC")
    scheduler.add_job(run_outbox, "interval", args=[app], id="outbox",
                      seconds=settings.outbox_interval_seconds, max_instances=1, coalesce=True)
    scheduler.add_job(run_deadlines, "interval", args=[app], id="deadlines",
                      minutes=DEADLINES_INTERVAL_MINUTES, max_instances=1, coalesce=True)
    scheduler.add_job(run_retention, "cron", args=[app], id="retention",
                      hour=RETENTION_HOUR_UTC, max_instances=1, coalesce=True)
    if any(config.mailboxes for config in app.extensions["aiguillage"].configs.values()):
        scheduler.add_job(run_mail_poll, "interval", args=[app], id="mail_poll",
                          seconds=settings.mail_poll_seconds, max_instances=1, coalesce=True)
        start_mail_watchers(app)  # IMAP IDLE; the schedule stays as the safety net
    scheduler.start()
    return scheduler


def start_mail_watchers(app: Flask) -> list:  # type: ignore[type-arg]
    """One IMAP IDLE watcher per mailbox: a pass over that mailbox as soon as mail arrives."""
    from mail_ingest.idle import IdleWatcher
    from mail_ingest.mailboxes import MailboxMisconfigured, MailboxTarget, mailbox_targets
    from mail_ingest.poller import poll_mailbox

    registry = app.extensions["aiguillage"]
    contexts = [c for c in (registry.context(slug) for slug in registry.configs) if c]

    def wake(target: MailboxTarget) -> bool:
        with app.app_context():
            report = poll_mailbox(db.session, target, registry.settings.data_dir / "mail")
            db.session.remove()
        return not report.locked

    watchers = []
    for target in mailbox_targets(contexts):
        try:
            password = target.password()
        except MailboxMisconfigured:
            continue  # the scheduled poll reports it
        watcher = IdleWatcher(target.mailbox, password, lambda t=target: wake(t))
        watcher.start()
        watchers.append(watcher)
    return watchers
