"""What a poll did, per mailbox and per group of messages (for the CLI, logs and tests)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class MailboxReport:
    key: str
    processed: int = 0
    duplicates: int = 0  # already recorded (a crash between commit and move): only moved
    quarantined: int = 0
    failed: int = 0  # failed this time, left in the inbox for the next run
    left: int = 0  # not reached because of the per-run caps
    locked: bool = False  # another poller holds this mailbox
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and self.failed == 0

    def summary(self) -> str:
        if self.error:
            return f"{self.key}: ERROR {self.error}"
        if self.locked:
            return f"{self.key}: skipped, another poller holds it"
        text = (f"{self.key}: {self.processed} processed, {self.duplicates} already done, "
                f"{self.quarantined} quarantined, {self.failed} failed")
        return text + (f", {self.left} left for the next run" if self.left else "")

    def count(self, outcome: Outcome) -> None:
        self.processed += outcome.processed
        self.duplicates += outcome.duplicates
        self.quarantined += outcome.quarantined
        self.failed += outcome.failed


@dataclass
class PollReport:
    mailboxes: list[MailboxReport] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(report.ok for report in self.mailboxes)


class Outcome:
    """What transactions did: moved and counted only once they committed."""

    def __init__(self) -> None:
        self.moves: dict[str, list[int]] = {}
        self.processed = self.duplicates = self.quarantined = self.failed = 0

    def move(self, uid: int, folder: str) -> None:
        self.moves.setdefault(folder, []).append(uid)

    def add(self, other: Outcome) -> None:
        for folder, uids in other.moves.items():
            self.moves.setdefault(folder, []).extend(uids)
        self.processed += other.processed
        self.duplicates += other.duplicates
        self.quarantined += other.quarantined
        self.failed += other.failed
