"""A reply waiting in the parapheur: written by an agent, visa given by a validator."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ticketing.models.base import Base, TenantScoped, UTCDateTime, utcnow
from ticketing.models.people import Agent
from ticketing.models.ticket import ThreadEntry, Ticket


class DraftState(StrEnum):
    PENDING = "pending"  # in the validators' queue
    RETURNED = "returned"  # sent back to its author with a comment
    SENT = "sent"  # approved and sent: ``entry`` is the reply of the thread


OPEN_DRAFT_STATES = (DraftState.PENDING, DraftState.RETURNED)


class ReplyDraft(TenantScoped, Base):
    __tablename__ = "reply_drafts"
    __table_args__ = (Index("ix_reply_drafts_queue", "commune_id", "state", "submitted_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"),
                                           index=True)
    author_agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id"))
    subject: Mapped[str] = mapped_column(String(300), default="")
    body: Mapped[str] = mapped_column(Text)
    status_after: Mapped[str] = mapped_column(String(20))  # the ticket's status once sent
    state: Mapped[str] = mapped_column(String(20), default=DraftState.PENDING)
    # The rule of validation.yaml that asked for the visa, frozen at submission.
    rule_name: Mapped[str] = mapped_column(String(200))
    validator_role: Mapped[str] = mapped_column(String(40))
    allow_author: Mapped[bool] = mapped_column(default=False)
    comment: Mapped[str] = mapped_column(Text, default="")  # the validator's, when returned
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("thread_entries.id"))
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    ticket: Mapped[Ticket] = relationship()
    author: Mapped[Agent] = relationship(foreign_keys=[author_agent_id])
    decided_by: Mapped[Agent | None] = relationship(foreign_keys=[decided_by_id])
    entry: Mapped[ThreadEntry | None] = relationship()

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_DRAFT_STATES
