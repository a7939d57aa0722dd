"""The path and query parameters every router shares (ids, times, pages, hashes), as ``Annotated``
aliases bounded by what the index and the chain hold.

Every integer a route takes in its path or query is one of these, so a value the event index
(SQLite INTEGER, PostgreSQL BIGINT: signed 64 bits) or the contracts cannot hold is a 422
problem before it reaches either, never a 500.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Path, Query

#: Largest id: the index stores ids in signed 64 bits (every contract's ids are narrower or equal).
ID_MAX = 2**63 - 1
#: Largest Unix time: the contracts store times in 48 bits (the year 8,900,000).
TIME_MAX = 2**48 - 1
#: Largest offset into a list, and the longest page.
OFFSET_MAX = 10**9
LIMIT_MAX = 500
#: A 32-byte hash in hex (a transaction hash, a document hash).
HASH32_PATTERN = r"^0x[0-9a-fA-F]{64}$"


def id_path(description: str = "A record id.") -> Any:  # FastAPI's Path() is typed Any
    """A record id in the path: 1 .. :data:`ID_MAX`."""
    return Path(ge=1, le=ID_MAX, description=description)


def id_query(description: str, *, ge: int = 1, alias: str | None = None) -> Any:  # FastAPI's Query() is typed Any
    """An id filter in the query: ``ge`` (1, or 0 where 0 means something) .. :data:`ID_MAX`."""
    return Query(ge=ge, le=ID_MAX, description=description, alias=alias)


Id = Annotated[int, id_path()]
IdFilter = Annotated[int | None, id_query("Only records of this id.")]
Offset = Annotated[int, Query(ge=0, le=OFFSET_MAX, description="Records to skip.")]
Limit = Annotated[int, Query(ge=1, le=LIMIT_MAX, description="Most records in the page.")]
Since = Annotated[
    int | None, Query(ge=0, le=TIME_MAX, description="Only records at or after this Unix time (block time).")
]
Until = Annotated[
    int | None, Query(ge=0, le=TIME_MAX, description="Only records at or before this Unix time (block time).")
]
TxHash = Annotated[str, Path(pattern=HASH32_PATTERN, description="The transaction hash (0x + 64 hex digits).")]


@dataclass(frozen=True)
class Paging:
    """One page of a list: ``offset`` records skipped, at most ``limit`` shown."""

    offset: int
    limit: int


async def paging(offset: Offset = 0, limit: Limit = 100) -> Paging:  # no I/O: no thread-pool hop
    return Paging(offset, limit)


#: ``?offset=&limit=`` as one :class:`Paging`.
PageDep = Annotated[Paging, Depends(paging)]
