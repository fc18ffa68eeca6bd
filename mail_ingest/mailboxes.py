"""The mailboxes to poll: each commune's typed mailbox settings, keyed, with its password."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

from ticketing.config.schema import Mailbox
from ticketing.operations.context import CommuneContext


class MailboxMisconfigured(Exception):
    """A mailbox cannot be polled as configured (e.g. its password variable is not set)."""


@dataclass(frozen=True)
class MailboxTarget:
    """One mailbox of one commune: what the poller works on."""

    ctx: CommuneContext
    mailbox: Mailbox

    @property
    def key(self) -> str:
        """Stable name of the mailbox across runs (the position and lock are stored by it)."""
        return f"{self.ctx.config.slug}/{self.mailbox.name}"

    @property
    def max_bytes(self) -> int:
        return int(self.mailbox.max_message_mb * 1024 * 1024)

    @property
    def own_addresses(self) -> frozenset[str]:
        """Our addresses in this commune: a mail from one of them is a loop."""
        addresses = {str(a).lower() for m in self.ctx.config.mailboxes for a in m.addresses}
        addresses.add(self.ctx.mail_sender.lower())
        return frozenset(addresses)

    def password(self, environ: Mapping[str, str] | None = None) -> str:
        environ = os.environ if environ is None else environ
        value = environ.get(self.mailbox.password_env)
        if not value:
            raise MailboxMisconfigured(
                f"the environment variable {self.mailbox.password_env} "
                "(the IMAP password, see mailboxes.yaml) is not set")
        return value


def mailbox_targets(contexts: Iterable[CommuneContext]) -> Iterator[MailboxTarget]:
    """Every mailbox of every commune, in configuration order."""
    for ctx in contexts:
        for mailbox in ctx.config.mailboxes:
            yield MailboxTarget(ctx, mailbox)
