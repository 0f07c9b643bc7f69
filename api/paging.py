"""Bounded pagination parameters shared by every list."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, TypeVar

from fastapi import Depends, Path, Query

from api.deps import ContextDep

T = TypeVar("T")

# The largest page_size a request may name; the server's setting (page_size_max) may be lower.
PAGE_SIZE_LIMIT = 5000
DEFAULT_PAGE_SIZE = 50


@dataclass(frozen=True)
class Paging:
    """Which page of a list to return."""

    page: int
    page_size: int

    @property
    def offset(self) -> int:
        """Return the index of the page's first item."""
        return (self.page - 1) * self.page_size

    def slice(self, items: Sequence[T]) -> list[T]:
        """Return this page of a sequence."""
        return list(items[self.offset : self.offset + self.page_size])


async def get_paging(
    ctx: ContextDep,
    page: Annotated[int, Query(ge=1, le=1_000_000, description="Page number, from 1")] = 1,
    page_size: Annotated[
        int,
        Query(
            ge=1,
            le=PAGE_SIZE_LIMIT,
            description="Items per page; capped at the server's page_size_max",
        ),
    ] = DEFAULT_PAGE_SIZE,
) -> Paging:
    """Return the requested page, its size capped by the server's maximum."""
    return Paging(page, min(page_size, ctx.settings.page_size_max))


PagingDep = Annotated[Paging, Depends(get_paging)]

# Row ids are 32-bit on PostgreSQL; larger numbers cannot name anything.
MAX_ID = 2_147_483_647
IdPath = Annotated[int, Path(ge=1, le=MAX_ID, description="Numeric id")]
CodePath = Annotated[str, Path(min_length=1, max_length=64, description="Site code")]
