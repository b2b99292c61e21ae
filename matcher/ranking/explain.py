"""The last stage: suggestions with the evidence sentences that matched and the reasons in words.

:func:`explain` turns a cut :class:`~matcher.retrieval.scores.Ranking` into
:class:`~matcher.domain.Suggestion` objects: the organisation's record, the parts of its score,
its best evidence (the sentence sharing most terms with the question), the user's verdict, a
flag for look-alikes, and, when the ranker ran, the features that raised its score most.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from bisect import bisect_right
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import numpy as np

from matcher.domain import Organisation, Suggestion
from matcher.ranking.features import FEATURES
from matcher.ranking.rank import Ranker
from matcher.retrieval.bridge import query_terms, searched_in
from matcher.retrieval.scores import Ranking
from matcher.retrieval.snapshot import Snapshot
from matcher.storage.records import Records
from matcher.storage.store import Store
from matcher.text import sentence_spans, tokens

EVIDENCE_SHOWN = 2  # best evidence pieces shown per suggestion
LOOK_ALIKE_FLAG = "offers much the same as the organisation asking: a possible competitor"


def explain(r: Ranking, snap: Snapshot, store: Store, ranker: Ranker | None = None) -> list[Suggestion]:
    """Suggestions for the positions in ``r.order`` (already cut to k), best first.

    An organisation deleted since the snapshot was taken is left out.
    """
    cat, q = snap.catalogue, r.query
    ids = cat.org_ids[r.order].tolist()
    orgs = snap.records.organisations(store, ids)
    wanted, comps = [], []
    for pos, org_id in zip(r.order.tolist(), ids):
        docs = cat.org_docs(pos)
        best = docs[np.argsort(-r.docs.fused[docs], kind="stable")][:EVIDENCE_SHOWN]
        best = best[np.isfinite(r.docs.fused[best])]
        ctx = r.docs.context_dense
        wanted.append((org_id, cat.doc_ids[best].tolist(), r.docs.fused[best].tolist(),
                       *([np.where(np.isfinite(ctx[best]), ctx[best], 0.0).tolist()] if ctx is not None else [])))
        comps.append({"fused": float(r.org_scores[pos]), "dense": _best(r.docs.dense, docs),
                      "lexical": _best(r.docs.lexical, docs), "evidence_hits": float(r.hits[pos]),
                      **({"context": _best(r.docs.context_dense, docs)} if r.docs.context_dense is not None else {}),
                      **({"projects_together": float(r.shared[pos])} if r.shared is not None else {})})
    evidence = explain_many(store, q.text, wanted, snap.records)
    why = _learned_reasons(r, snap, store, ranker) if ranker is not None and r.rows is not None else None
    if why is None and r.shared is not None:  # the ties stage ran: say who worked with the one asking
        why = _tie_reasons(r, store)
    searched = searched_in(q.text)  # a Dutch question also searched the English evidence with English terms
    out = []
    for i, (org_id, comp, ev) in enumerate(zip(ids, comps, evidence)):
        if org_id not in orgs:
            continue
        expl = {**ev, **({"feedback": q.verdicts[org_id]} if org_id in q.verdicts else {}),
                **({"flags": [LOOK_ALIKE_FLAG]} if org_id in q.demote else {}),
                **({"searched": searched} if searched else {})}
        if why is not None and r.learned is not None:
            comp = {**comp, "ranker": float(r.learned[i])}
            expl["reasons"] = why[i]
        elif why is not None and why[i]:
            expl["reasons"] = why[i]
        out.append(Suggestion(orgs[org_id], len(out) + 1, comp["ranker" if "ranker" in comp else "fused"],
                              comp, expl))
    return out


def bare(r: Ranking, snap: Snapshot) -> list[Suggestion]:
    """Suggestions without explanations or records beyond the id: all a ranking metric needs."""
    ids = snap.catalogue.org_ids[r.order].tolist()
    return [Suggestion(Organisation(name="", id=int(o)), rank, float(s), {}, {})
            for rank, (o, s) in enumerate(zip(ids, r.org_scores[r.order].tolist()), 1)]


def _learned_reasons(r: Ranking, snap: Snapshot, store: Store, ranker: Ranker) -> list[list[str]]:
    """Per suggestion, the features that raised its learned score most, in words."""
    assert r.rows is not None
    contrib = ranker.contributions(r.rows, r.reference)
    seed_name = ""
    if r.query.seed is not None:
        seed_name = store.get_organisations([r.query.seed]).get(r.query.seed, Organisation("")).name
    latest = snap.catalogue.latest
    ref_year = dt.date.fromordinal(int(latest.max())).year if latest is not None and latest.max() > 0 else 0
    return [reasons(FEATURES, row.tolist(), con.tolist(), seed_name, ref_year) for row, con in zip(r.rows, contrib)]


def _tie_reasons(r: Ranking, store: Store) -> list[list[str]]:
    """Per suggestion, "worked with <the one asking> in N projects" where the ties stage counted any."""
    assert r.shared is not None and r.query.seed is not None
    seed = store.get_organisations([r.query.seed]).get(r.query.seed, Organisation("")).name
    return [[_reason("seed_shared_log", {"seed_shared_log": math.log1p(n)}, seed, 0)] if n > 0 else []
            for n in r.shared[r.order].tolist()]


def _best(scores: np.ndarray, docs: np.ndarray) -> float:
    vals = scores[docs]
    vals = vals[np.isfinite(vals)]
    return float(vals.max()) if vals.size else 0.0

MAX_SENTENCE = 400
_WORD_CHAR = re.compile(r"[\w\-]")  # what a word is made of, as matcher.text cuts words


def best_sentence(query: str, text: str) -> tuple[str, list[str]]:
    """The sentence of ``text`` sharing most (stemmed) terms with ``query`` (a Dutch query: its English renderings
    too), and those terms.

    >>> best_sentence("needle-free injection", "We build pumps. Our needle-free jet injects drugs.")
    ('Our needle-free jet injects drugs.', ['needle-free', 'injects'])
    """
    return _best_sentence(frozenset(query_terms(query)), text)


def _best_sentence(q: frozenset[str], text: str) -> tuple[str, list[str]]:
    """:func:`best_sentence` for a query already tokenised (an explanation has one query and many texts).

    The first sentence with most distinct words having a token in ``q``, and those words (lower-cased, in order
    of first appearance); the first sentence when none has any. Only the words that :func:`_candidates` finds are
    stemmed, not every word of the text.
    """
    flat = text.replace("\n", " ")
    spans = sentence_spans(flat)
    if not spans:  # a blank text is its own sentence, without terms
        best, terms = text, []
    else:
        found = _terms_by_sentence(q, flat, spans)
        i = max(range(len(spans)), key=lambda j: len(found[j]))  # the first of the best
        best, terms = flat[spans[i][0]:spans[i][1]], found[i]
    if len(best) > MAX_SENTENCE:
        best = best[:MAX_SENTENCE].rsplit(" ", 1)[0] + " …"
    return best, terms


def _terms_by_sentence(q: frozenset[str], flat: str, spans: list[tuple[int, int]]) -> list[list[str]]:
    """Per sentence of ``flat`` (at ``spans``), its distinct words with a token in ``q``, in order of appearance."""
    low = flat.lower()
    if len(low) == len(flat):
        return _terms(q, low, [start for start, _ in spans])
    # "İ" lower-cases to two characters, which would shift the offsets: sentence by sentence then
    return [_terms(q, flat[start:end].lower(), [0])[0] for start, end in spans]


def _terms(q: frozenset[str], low: str, starts: list[int]) -> list[list[str]]:
    """Per part of the lower-cased ``low`` beginning at ``starts`` (the first at 0 or before the first word), its
    distinct words with a token in ``q``, in order of appearance."""
    text = " " + low  # a head follows a non-word character: so does the first word
    terms: list[dict[str, None]] = [{} for _ in starts]
    verdicts: dict[str, bool] = {}
    for m in _candidates(q).finditer(text):
        start, end = m.span()  # text[start] is the character before the head; the head is at low[start]
        # the word: the letters, digits and hyphens around the head without the hyphens at its ends (as _TOKEN cuts)
        word = text[start + 1:end].rstrip("-") if text[start] != "-" else _hyphenated(text, start, end)
        verdict = verdicts.get(word)
        if verdict is None:  # (stop words and numbers have no tokens, as matcher.text.words leaves them out)
            verdict = verdicts[word] = not _tokens(word).isdisjoint(q)
        if verdict:
            terms[bisect_right(starts, start) - 1][word] = None
    return [list(t) for t in terms]


@lru_cache(maxsize=64)
def _candidates(q: frozenset[str]) -> re.Pattern[str]:
    """A pattern for the words of a lower-cased text that may have a stemmed token in ``q`` (a superset, checked
    with :func:`_tokens`): a non-word character, then a head of a term where a word or a part of a hyphenated word
    starts, to the end of the word.

    A Snowball English stem differs from the word or part it came from in its last character at most ("studies"
    -> "studi", "hoping" -> "hope"), or its last two when it ends in "ie" ("dying" -> "die"): checked on the
    catalogue's 35,000 distinct words and on 800,000 made-up ones (tests/test_best_sentence.py keeps checking
    the words it reads). So a word stemming to ``t`` starts with ``t`` but for its last character (two for "ie"),
    keeping one at least: the head of ``t``.
    """
    heads: list[str] = []
    for head in sorted({t[:max(1, len(t) - (2 if t.endswith("ie") else 1))] for t in q if t}):
        if not heads or not head.startswith(heads[-1]):  # a head sorts right before the longer ones it begins
            heads.append(head)
    return re.compile(rf"\W{_one_of(heads)}[\w\-]*" if heads else r"(?!)")  # (?!) never matches


def _one_of(heads: list[str], depth: int = 0) -> str:
    """A regex for any of ``heads`` (sorted, none beginning another, all sharing their first ``depth`` characters)
    that tries one character at a time, "(?:car|n(?:e|ove))" rather than "car|ne|nove": the regex engine tries the
    branches of a group one after another wherever the text may hold a head."""
    by_char: dict[str, list[str]] = {}
    for head in heads:
        by_char.setdefault(head[depth], []).append(head)
    branches = [re.escape(group[0][depth:]) if len(group) == 1 else re.escape(char) + _one_of(group, depth + 1)
                for char, group in by_char.items()]
    return branches[0] if len(branches) == 1 else f"(?:{'|'.join(branches)})"


def _hyphenated(text: str, hyphen: int, end: int) -> str:
    """The hyphenated word, as :func:`matcher.text.words` cuts it, with a later part from ``text[hyphen]`` to
    ``text[end]``."""
    start = hyphen
    while _WORD_CHAR.match(text, start - 1):  # back to the first part (text begins with a space)
        start -= 1
    return text[start:end].strip("-")


@lru_cache(maxsize=1 << 16)
def _tokens(word: str) -> frozenset[str]:
    """The stemmed tokens of a word of evidence (the same words recur in every text)."""
    return frozenset(tokens(word))


def explain_many(store: Store, query: str, wanted: Sequence[tuple[Any, ...]], records: Records
                 ) -> list[dict[str, Any]]:
    """Explanations for several suggestions at once.

    Args:
        records: the evidence rows read before for the same snapshot (read from ``store`` when not yet).
        wanted: per suggestion, (organisation id, its best text ids, their fused scores) and, when the
            query is a part of a larger question, their dense similarities to the whole question.

    Returns:
        Per suggestion: ``{"evidence": [{"title", "date", "sentence", "terms", "score"}], "terms": [...]}``,
        each evidence item with ``"context"`` (similarity to the whole question) when given.
    """
    by_key = records.evidence(store, [(w[0], int(t)) for w in wanted for t in w[1]])
    q = frozenset(query_terms(query))  # tokenised once for every text; a Dutch question's English renderings too
    chosen: dict[int, tuple[str, list[str]]] = {}  # by text: the members of one project share its text
    out = []
    for org_id, text_ids, scores, *more in wanted:
        contexts = more[0] if more else [None] * len(text_ids)
        items, all_terms = [], []
        for tid, score, ctx in zip(text_ids, scores, contexts):
            row = by_key.get((org_id, int(tid)))
            if row is None:
                continue
            if int(tid) not in chosen:
                chosen[int(tid)] = _best_sentence(q, row["text"])
            sentence, terms = chosen[int(tid)]
            terms = list(terms)
            all_terms.extend(terms)
            items.append({"title": row["title"], "date": row["date"].isoformat() if row["date"] else None,
                          "sentence": sentence, "terms": terms, "score": round(float(score), 6),
                          **({"context": round(float(ctx), 4)} if ctx is not None else {})})
        out.append({"evidence": items, "terms": list(dict.fromkeys(all_terms))})
    return out


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def reasons(names: Sequence[str], row: Sequence[float], contributions: Sequence[float], seed_name: str = "",
            ref_year: int = 0, top: int = 3) -> list[str]:
    """The features that raised a candidate's learned score most, in words, strongest first.

    Args:
        names: feature names (:data:`matcher.ranking.features.FEATURES`).
        row: the candidate's feature values; contributions: how much each raised its score.
        seed_name: the organisation asking, for ties ("worked with ... before").
        ref_year: the catalogue's newest year, to turn "years since" into a year.

    >>> reasons(["seed_shared_log", "activity_log"], [math.log1p(2), math.log1p(14)], [0.2, 0.1], "Radboudumc")
    ['worked with Radboudumc in 2 projects', 'active: 14 projects in the catalogue']
    """
    value = dict(zip(names, row))
    out: list[str] = []
    for i in sorted(range(len(names)), key=lambda j: -contributions[j]):
        if contributions[i] <= 1e-4 or len(out) >= top:
            break
        text = _reason(names[i], value, seed_name, ref_year)
        if text and text not in out:
            out.append(text)
    return out


def _reason(name: str, value: dict[str, float], seed: str, ref_year: int) -> str:
    v = value[name]
    if name == "seed_shared_log" and v > 0:
        return f"worked with {seed or 'you'} in {_plural(round(math.expm1(v)), 'project')}"
    if name == "seed_two_hop" and v > 0:
        return f"a partner of {seed or 'your'}'s partners" if seed else "a partner of your partners"
    if name == "seed_same_country" and v > 0:
        return f"in the same country as {seed or 'you'}"
    if name == "activity_log":
        return f"active: {_plural(round(math.expm1(v)), 'project')} in the catalogue"
    if name == "years_since_latest" and ref_year and v < 10:
        return f"recent: latest evidence from {ref_year - round(v)}"
    if name == "hits_top" and v > 0:
        return f"{_plural(round(math.expm1(v)), 'piece')} of evidence among the best matches"
    if name in ("dense_best", "dense_mean3"):
        return "close in meaning to the request"
    if name == "lexical_best_log" and v > 0:
        return "shares key terms with the request"
    if name.startswith("kind_") and v > 0:
        return f"{name[5:].replace('_', ' ')}s often join such consortia"
    if name in ("fused", "fused_rank_log"):
        return "strong text match"
    return ""
