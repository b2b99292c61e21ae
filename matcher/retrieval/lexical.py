"""Lexical retrieval: BM25 (bm25s) over the distinct evidence texts.

BM25 catches acronyms and exact technical terms (MDR, CE marking, microfluidic,
TRL) that embeddings blur. The index is rebuilt from the store's texts when they
change. A query reads only the posting lists of its own terms (:meth:`LexicalIndex.matches`,
the inverted index bm25s keeps as a CSC matrix: one column of precomputed term scores per
term), so its cost follows the texts that hold its terms, not the size of the catalogue;
:meth:`LexicalIndex.scores` (every text, through bm25s) is the reference it is tested against.

A long question (a project's objective: about 130 distinct terms) may be read through its ``terms``
most telling terms only (:meth:`LexicalIndex.search_terms`: the highest idf x count), the way the
pipeline reads it (``RankingConfig.lexical_terms``): the dropped terms are the common ones, whose
posting lists are the long ones (at 64 terms a project text reads a quarter of the postings its
distinct terms hold), and ``matcher eval`` measured no loss beyond the splits' spread
(docs/EVALUATION.md, "Long questions read through their 64 most telling terms").
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path

import bm25s
import numpy as np

from matcher.retrieval.bridge import detect_language, weighted_terms
from matcher.text import tokens

log = logging.getLogger(__name__)
FORMAT_VERSION = 1  # of the saved folder: bm25s arrays, ids.npy and manifest.json; bump when tokens() changes


class LexicalIndex:
    """BM25 over texts identified by integer ids (``texts.id``)."""

    def __init__(self, k1: float = 1.2, b: float = 0.75) -> None:
        self.k1 = k1
        self.b = b
        self.ids_: np.ndarray = np.zeros(0, dtype=np.int64)
        self._bm25: bm25s.BM25 | None = None

    def fit(self, ids: Sequence[int], texts: Sequence[str]) -> LexicalIndex:
        self.ids_ = np.asarray(ids, dtype=np.int64)
        corpus = [tokens(x) or ["\u2205"] for x in texts]  # an empty text still needs a token
        self._bm25 = bm25s.BM25(k1=self.k1, b=self.b)
        if corpus:
            self._bm25.index(corpus, show_progress=False)
        return self

    def save(self, folder: Path) -> None:
        """Write the fitted index into ``folder`` (bm25s arrays, vocabulary, and our ids)."""
        if self._bm25 is None or len(self) == 0:
            return
        folder.mkdir(parents=True, exist_ok=True)
        self._bm25.save(str(folder))
        np.save(folder / "ids.npy", self.ids_)
        (folder / "manifest.json").write_text(json.dumps(self._manifest(), indent=2))

    def _manifest(self) -> dict[str, object]:
        return {"format": FORMAT_VERSION, "k1": self.k1, "b": self.b, "count": len(self),
                "bm25s": getattr(bm25s, "__version__", "")}

    @classmethod
    def load(cls, folder: Path) -> LexicalIndex | None:
        """A saved index, or None when ``folder`` holds none or an unreadable one (then refit)."""
        if not (folder / "ids.npy").exists():
            return None
        try:
            manifest = json.loads((folder / "manifest.json").read_text())
            out = cls(k1=float(manifest["k1"]), b=float(manifest["b"]))
            if manifest != {**out._manifest(), "count": manifest.get("count")}:
                log.warning("refitting the lexical index: saved as %s, this version writes %s", manifest,
                            {**out._manifest(), "count": manifest.get("count")})
                return None
            # memory-mapped: a start reads only the vocabulary, and the workers of a host share the posting
            # lists through the page cache (a newer save is a new folder swapped in, never these files rewritten)
            out._bm25 = bm25s.BM25.load(str(folder), mmap=True)
            out.ids_ = np.load(folder / "ids.npy")
            if len(out) != manifest["count"]:
                return None
            return out
        except Exception:  # a damaged or unversioned cache is refitted from the store, never trusted
            return None

    def __len__(self) -> int:
        return int(self.ids_.shape[0])

    def document_frequency(self, terms: Sequence[str]) -> np.ndarray:
        """(len(terms),) the share of texts that hold each (stemmed) term; 0 for a term never seen."""
        out = np.zeros(len(terms))
        if self._bm25 is None or len(self) == 0:
            return out
        vocab, indptr = self._bm25.vocab_dict, self._bm25.scores["indptr"]  # a column per term (CSC)
        for k, term in enumerate(terms):
            col = vocab.get(term)
            if col is not None and col + 1 < len(indptr):
                out[k] = (indptr[col + 1] - indptr[col]) / len(self)
        return out

    def matches(self, query: str, allowed: np.ndarray | None = None,
                terms: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """The texts with a positive BM25 score for ``query``: (positions into ``ids_``, ascending;
        their float32 scores), among ``allowed`` (an (n,) bool mask) when given; read through the
        query's ``terms`` most telling terms when it has more (0: all, :meth:`search_terms`).

        The same numbers as :meth:`scores` at those positions: each term's column is added in the
        same order, in float32, with ``np.add.at`` as bm25s does (measured 2x faster than an indexed
        ``+=`` over long posting lists). The accumulator is one float32 per text (4 MB at a million),
        zeroed lazily; the work follows the postings of the query's terms.
        """
        none = (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32))
        if self._bm25 is None or len(self) == 0:
            return none
        vocab = self._bm25.vocab_dict
        columns = [(vocab[t], w) for t, w in self.search_terms(query, terms)]
        if not columns:
            return none
        data, indices, indptr = (self._bm25.scores[k] for k in ("data", "indices", "indptr"))
        acc = np.zeros(len(self), dtype=np.float32)
        for col, weight in columns:
            lo, hi = int(indptr[col]), int(indptr[col + 1])
            np.add.at(acc, indices[lo:hi], data[lo:hi] if weight is None else np.float32(weight) * data[lo:hi])
        pos = np.flatnonzero(acc > 0)
        if allowed is not None:
            pos = pos[allowed[pos]]
        return pos, acc[pos]

    def top(self, query: str, k: int, allowed: np.ndarray | None = None,
            terms: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` best texts for ``query`` (positions, best first, ties by position; scores)."""
        from matcher.retrieval.fuse import top_k

        pos, score = self.matches(query, allowed, terms)
        best = top_k(score, k)
        return pos[best], score[best]

    def search_terms(self, query: str, terms: int = 0) -> list[tuple[str, float | None]]:
        """The indexed terms ``query`` is scored with, in scoring order, each with its weight (None: once
        per occurrence, an English query as written; a Dutch or mixed one goes over the lexical bridge).

        With ``terms`` > 0 and more distinct terms than that, only the ``terms`` with the highest
        idf x weight are kept (a repeated term's weight is its count; ties: first written first), in the
        order first written, each once with its weight.
        """
        if self._bm25 is None:
            return []
        vocab = self._bm25.vocab_dict
        language = detect_language(query)
        if language == "en":
            written: list[tuple[str, float | None]] = [(w, None) for w in tokens(query) if w in vocab]
        else:
            written = [(t, w) for t, w in weighted_terms(query, language).items() if t in vocab]
        if terms <= 0:
            return written
        weight: dict[str, float] = {}
        for t, w in written:
            weight[t] = weight.get(t, 0.0) + (1.0 if w is None else w)
        if len(weight) <= terms:
            return written
        distinct = list(weight)
        df = self.document_frequency(distinct) * len(self)
        idf = np.log1p((len(self) - df + 0.5) / (df + 0.5))  # bm25s's (Lucene's) idf
        best = np.argsort(-idf * np.array([weight[t] for t in distinct]), kind="stable")[:terms]
        return [(distinct[i], weight[distinct[i]]) for i in sorted(best.tolist())]

    def scores(self, query: str, terms: int = 0) -> np.ndarray:
        """BM25 score of ``query`` for every text, aligned with ``ids_`` (float32, >= 0), read through
        :meth:`search_terms` (an English query of unit weights through bm25s at once, as written)."""
        if self._bm25 is None or len(self) == 0:
            return np.zeros(len(self), dtype=np.float32)
        scored = self.search_terms(query, terms)
        if all(w is None for _t, w in scored):
            q = [t for t, _w in scored]
            return np.asarray(self._bm25.get_scores(q), dtype=np.float32) if q else np.zeros(len(self), np.float32)
        out = np.zeros(len(self), dtype=np.float32)
        for term, weight in scored:
            out += np.float32(weight) * np.asarray(self._bm25.get_scores([term]), dtype=np.float32)
        return out
