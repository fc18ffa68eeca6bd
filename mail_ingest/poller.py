"""One pass over every mailbox: fetch → parse → decide → apply, each mail exactly once.

Messages go by small groups, one transaction per group and a SAVEPOINT per message: each
message's ticket or reply, raw .eml and inbound record (unique by mailbox+UIDVALIDITY+UID
and by Message-ID+sha256) commit together with the mailbox position, and the group's
messages are moved out of the inbox only after that commit. A crash anywhere leaves either
unrecorded messages (processed again) or recorded ones still in the inbox (just moved).

The pieces: ``mailbox_pass`` (the run over one mailbox), ``ledger`` (its database
bookkeeping), ``fetched`` (one fetched message), ``reports`` (what a poll did), ``locks``
(one poller per mailbox).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path

from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from mail_ingest.imap import ImapUnavailable
from mail_ingest.ledger import DatabaseUnavailable, safe_rollback
from mail_ingest.locks import mailbox_lock
from mail_ingest.mailbox_pass import MailboxPass
from mail_ingest.mailboxes import MailboxMisconfigured, MailboxTarget, mailbox_targets
from mail_ingest.reports import MailboxReport, PollReport
from ticketing.operations.context import CommuneContext
from ticketing.tenancy import scoped_to

__all__ = ["DatabaseUnavailable", "MailboxReport", "PollReport", "poll_all", "poll_mailbox"]

log = logging.getLogger(__name__)


def poll_all(session: Session, contexts: Iterable[CommuneContext], mail_dir: Path) -> PollReport:
    """One pass over every mailbox of every commune; one mailbox's failure stops no other."""
    report = PollReport()
    for target in mailbox_targets(contexts):
        report.mailboxes.append(poll_mailbox(session, target, mail_dir))
    return report


def poll_mailbox(session: Session, target: MailboxTarget, mail_dir: Path) -> MailboxReport:
    report = MailboxReport(target.key)
    try:
        password = target.password()
        with mailbox_lock(session, target.key) as lease:
            if lease is None:
                report.locked = True
                return report
            with scoped_to(session, target.ctx.commune_id):
                MailboxPass(session, target, mail_dir, report, lease).run(password)
    except MailboxMisconfigured as exc:
        report.error = str(exc)
    except ImapUnavailable as exc:
        report.error = f"IMAP: {exc}"
    except (DatabaseUnavailable, DBAPIError) as exc:
        report.error = f"database: {exc}".splitlines()[0]
        safe_rollback(session)
    if report.error:
        log.warning("mail poll %s", report.summary())
    return report
