"""Full-text search over X bookmarks: the structures each engine keeps and how to query them.

PostgreSQL: `x_bookmarks.search_vector`, a stored generated `tsvector` (tweet text weighted A,
author username and name weighted B, English configuration, and the owner lexeme below without
a position) with a GIN index; ranked with `ts_rank`.

SQLite: `x_bookmarks_fts`, a contentless FTS5 table (porter stemming) whose rowid is the
bookmark's `seq`, kept in step by triggers on `x_bookmarks`. Its `owner` column holds the owner
token; ranked with `bm25`.

On both engines the owner token `u<user id>0` is indexed with every bookmark, so a search
intersects the user's postings with the words' inside the full-text index.

These objects are created by migration 0010 (they are not SQLAlchemy models); `include_object`
tells schema comparisons to leave them out.
"""

from __future__ import annotations

import re
from typing import Any

FTS_TABLE = "x_bookmarks_fts"
TS_CONFIG = "english"
PG_COLUMN = "search_vector"
PG_INDEX = "ix_x_bookmarks_search"

_WORD = re.compile(r"\w+", re.UNICODE)


def search_terms(query: str) -> list[str]:
    """The words of a user's query, with every operator and punctuation mark dropped."""
    return [word.lower() for word in _WORD.findall(query.replace("_", " "))]


def fts_owner(user_id: str) -> str:
    """The owner token of `user_id`'s bookmarks (a final digit keeps stemming off it)."""
    return f"u{user_id}0"


def fts_match(user_id: str, terms: list[str]) -> str:
    """An FTS5 MATCH expression: the user's rows that contain every term (each a quoted string)."""
    quoted = " AND ".join('"' + term.replace('"', '""') + '"' for term in terms)
    return f'owner : "{fts_owner(user_id)}" AND {quoted}'


def include_object(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    """Schema comparison filter: skip the search structures that the models do not describe."""
    if type_ == "table" and name is not None and name.startswith(FTS_TABLE):
        return False
    if type_ == "column" and name == PG_COLUMN and compare_to is None:
        return False
    return not (type_ == "index" and name == PG_INDEX)
