"""Numbered pages for the agent's short lists (triage queue, register): the page number
comes from the query string, the total is counted, the page is cut in SQL (LIMIT/OFFSET).

A junk page number is page 1 and one past the end is the last page, so no query string
can make a page fail."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Generic, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

PAGE_SIZE = 50
PAGE_ARG = "page"

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    number: int  # from 1
    total: int  # rows in every page
    size: int = PAGE_SIZE

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.size))

    @property
    def first_row(self) -> int:
        """Rank of the page's first row (1-based; 0 when the list is empty)."""
        return (self.number - 1) * self.size + 1 if self.items else 0

    @property
    def last_row(self) -> int:
        return self.first_row + len(self.items) - 1 if self.items else 0

    @property
    def previous(self) -> int | None:
        return self.number - 1 if self.number > 1 else None

    @property
    def next(self) -> int | None:
        return self.number + 1 if self.number < self.pages else None


def page_number(args: Mapping[str, str]) -> int:
    """The page asked for in the query string; anything but a positive whole number is 1."""
    raw = (args.get(PAGE_ARG) or "").strip()
    if not raw.isascii() or not raw.isdigit() or len(raw) > 9:
        return 1
    return max(1, int(raw))


def paginate(session: Session, stmt: Select[tuple[T]], number: int,
             size: int = PAGE_SIZE) -> Page[T]:
    """Page ``number`` of ``stmt`` (which must be totally ordered), clamped to the last page."""
    total = session.scalar(select(func.count()).select_from(
        stmt.order_by(None).subquery())) or 0
    last = max(1, -(-total // size))
    number = min(max(1, number), last)
    items = list(session.scalars(stmt.limit(size).offset((number - 1) * size)).unique())
    return Page(items, number, total, size)
