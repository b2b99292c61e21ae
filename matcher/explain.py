"""Explanations: the evidence sentences that matched a query and the terms they share with it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from matcher.store import Store
from matcher.text import sentences, tokens, words

MAX_SENTENCE = 400


def best_sentence(query: str, text: str) -> tuple[str, list[str]]:
    """The sentence of ``text`` sharing most (stemmed) terms with ``query``, and those terms.

    >>> best_sentence("needle-free injection", "We build pumps. Our needle-free jet injects drugs.")
    ('Our needle-free jet injects drugs.', ['needle-free', 'injects'])
    """
    q = set(tokens(query))
    best, best_terms, best_n = "", [], -1
    for s in sentences(text) or [text]:
        terms = [w for w in dict.fromkeys(words(s)) if set(tokens(w)) & q]
        if len(terms) > best_n:
            best, best_terms, best_n = s, terms, len(terms)
    if len(best) > MAX_SENTENCE:
        best = best[:MAX_SENTENCE].rsplit(" ", 1)[0] + " …"
    return best, best_terms


def explain_many(store: Store, query: str, wanted: Sequence[tuple[int, Sequence[int], Sequence[float]]]
                 ) -> list[dict[str, Any]]:
    """Explanations for several suggestions at once.

    Args:
        wanted: per suggestion, (organisation id, its best text ids, their fused scores).

    Returns:
        Per suggestion: ``{"evidence": [{"title", "date", "sentence", "terms", "score"}], "terms": [...]}``.
    """
    rows = store.evidence_for_texts([t for _o, ts, _s in wanted for t in ts], [o for o, _t, _s in wanted])
    by_key = {(r["organisation_id"], r["text_id"]): r for r in rows}
    out = []
    for org_id, text_ids, scores in wanted:
        items, all_terms = [], []
        for tid, score in zip(text_ids, scores):
            row = by_key.get((org_id, int(tid)))
            if row is None:
                continue
            sentence, terms = best_sentence(query, row["text"])
            all_terms.extend(terms)
            items.append({"title": row["title"], "date": row["date"].isoformat() if row["date"] else None,
                          "sentence": sentence, "terms": terms, "score": round(float(score), 6)})
        out.append({"evidence": items, "terms": list(dict.fromkeys(all_terms))})
    return out
