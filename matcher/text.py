"""Text helpers: evidence text building, tokens for BM25, sentences for explanations. Pure functions."""

from __future__ import annotations

import re
from functools import lru_cache

import Stemmer

_TOKEN = re.compile(r"(?u)\b\w[\w\-]*\w\b|\b\w\b")
# a sentence ends at a stop followed by spaces and a capital, digit, bracket or quote; the spaces are group 1 (a
# pattern that starts with the stop is searched three times as fast as one that looks behind for it)
_SENTENCE_END = re.compile(r"[.!?;](\s+)(?=[A-Z0-9(\"'])")

STOPWORDS: frozenset[str] = frozenset(
    # English
    "a an and are as at be been but by can could do does for from has have how in into is it its may more "
    "most not of on or our such than that the their them then there these they this those through to under "
    "up use used using via was we were what when where which while who will with within would also both "
    "each new other over project aim aims based well between all any".split()
    # Dutch
    + "de het een en van in op te voor met is zijn aan als bij dat die dit door er naar niet of om ook over "
    "tot uit wat wij we worden wordt zich zo onze ons hun kan kunnen moet moeten nog meer dan deze".split()
)


@lru_cache(maxsize=1)
def _stemmer() -> Stemmer.Stemmer:
    return Stemmer.Stemmer("english")


def words(text: str) -> list[str]:
    """Lower-cased word tokens without stop words; hyphenated terms stay whole ("needle-free")."""
    return [w for w in _TOKEN.findall(text.lower()) if w not in STOPWORDS and not w.isdigit()]


def tokens(text: str) -> list[str]:
    """Stemmed tokens for BM25: hyphenated terms also contribute their parts.

    >>> tokens("Needle-free injections")
    ['needle-fre', 'needl', 'free', 'inject']
    """
    out: list[str] = []
    for w in words(text):
        out.append(w)
        if "-" in w:
            out.extend(p for p in w.split("-") if p and p not in STOPWORDS)
    return _stemmer().stemWords(out)


def sentences(text: str) -> list[str]:
    """Split text into sentences (keeps very long "sentences" whole); newlines become spaces."""
    flat = text.replace("\n", " ")
    return [flat[start:end] for start, end in sentence_spans(flat)]


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Where the sentences of ``text`` are, as ``(start, end)`` offsets: stripped of the spaces around them, none
    for a blank text. (:func:`sentences` are these slices of the text with its newlines as spaces.)

    >>> sentence_spans(" It works.  Really? yes; 3 times ")
    [(1, 10), (12, 24), (25, 32)]
    """
    cuts = [0, *(i for m in _SENTENCE_END.finditer(text) for i in m.span(1)), len(text)]
    out = []
    for start, end in zip(cuts[::2], cuts[1::2]):
        piece = text[start:end]
        kept = piece.strip()
        if kept:
            start += len(piece) - len(piece.lstrip())
            out.append((start, start + len(kept)))
    return out


def project_text(title: str, objective: str) -> str:
    """The evidence text of a project: its title and objective."""
    title, objective = title.strip(), objective.strip()
    if title and objective:
        return f"{title}. {objective}"
    return title or objective


def clean_query(text: str, max_chars: int | None = None) -> str:
    """Strip a query; refuse empty or over-long text (default: :data:`matcher.domain.MAX_TEXT`) with
    :class:`InvalidInput`."""
    from matcher.domain import MAX_TEXT
    from matcher.errors import InvalidInput
    from matcher.messages import Message

    max_chars = MAX_TEXT if max_chars is None else max_chars
    text = (text or "").strip()
    if not text:
        raise InvalidInput(Message("text: must not be empty"))
    if len(text) > max_chars:
        raise InvalidInput(Message("text: longer than {most} characters", most=max_chars))
    return text
