"""What a query reads: the indexes at one database change number, never changed in place.

A sync builds a new :class:`Snapshot` and swaps it in (one reference assignment), so
queries running on the old one finish undisturbed and queries run concurrently.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from matcher.retrieval.catalogue import Catalogue
from matcher.retrieval.graph import CollaborationGraph
from matcher.retrieval.index import VectorIndex
from matcher.retrieval.lexical import LexicalIndex
from matcher.storage.records import Records


@dataclass(frozen=True)
class Snapshot:
    """The dense and lexical indexes, the catalogue arrays and the collaboration graph at ``change_no`` of the
    database ``db_uuid``; and the store's rows its explanations read, kept for its queries (``records``: every
    snapshot starts with none, also one made by ``dataclasses.replace``)."""

    change_no: int
    vectors: VectorIndex
    lexical: LexicalIndex
    catalogue: Catalogue
    graph: CollaborationGraph
    db_uuid: str = ""
    records: Records = field(default_factory=Records, init=False, compare=False, repr=False)
