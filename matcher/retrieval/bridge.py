"""The lexical bridge: Dutch query terms rendered as English ones, so BM25 over English evidence finds them.

Nearly all evidence (CORDIS projects) is English, while the people who pose challenges in East
Netherlands often write Dutch. For a Dutch (or mixed) query, each word is looked up in a bilingual
glossary of the field kept as data (``data/glossary/nl_en.tsv``): first as part of a phrase
("ziekte van parkinson"), then as written, then as its lemma (simplemma), then split into
glossary parts when it is a compound ("thuismonitoring" -> thuis + monitoring). Words the glossary
does not know pass through unchanged (MDR, sepsis, COPD, microneedle are the same in both).
English queries are left alone. Pure functions; the glossary is read once per process.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from matcher.text import STOPWORDS, tokens

GLOSSARY_FILE = Path(__file__).resolve().parents[2] / "data" / "glossary" / "nl_en.tsv"
SEARCHED_BOTH = "searched in Dutch and English"
_WORD = re.compile(r"[^\W\d_]+(?:'[a-z]+)?|\d+", re.UNICODE)
_LINKS = ("s", "en", "e", "")  # Dutch linking sounds between compound parts (ziekenhuis-opname, hart-s-)
MIN_PART = 3  # shortest compound part

# Function words that mark a language and are not words of the other one (not de, te, op, die, door,
# er, na, via: English texts have them too).
DUTCH_MARKERS = frozenset(
    "het een en van voor met zijn niet wij ons onze dat deze bij naar ook wordt worden kunnen zoeken willen "
    "moet moeten hun zij tot uit hebben heeft nog meer dan zoals zodat om nu wel geen maar waar welke hoe wat "
    "ik jullie hij hier daar mogelijk tijdens zonder tussen bijvoorbeeld".split())
ENGLISH_MARKERS = frozenset(
    "the and of for with to are our that this which from by on at be have has can will would an as its "
    "their these those who how into we're without between during such should could may must want look "
    "need seek after before".split())


@dataclass(frozen=True)
class Glossary:
    """Dutch terms (tuples of words) -> English renderings; ``longest``: the most words in one term."""

    terms: dict[tuple[str, ...], tuple[str, ...]]
    longest: int

    def get(self, words: Sequence[str]) -> tuple[str, ...] | None:
        return self.terms.get(tuple(words))


def parse_glossary(lines: Sequence[str]) -> Glossary:
    """A glossary from TSV lines ``nl<TAB>en1|en2[<TAB>field]``; ``#`` lines are comments.

    >>> g = parse_glossary(["# nl\\ten", "hartfalen\\theart failure", "ziekte van parkinson\\tparkinson's disease"])
    >>> g.get(["hartfalen"]), g.longest
    (('heart failure',), 3)
    """
    terms: dict[tuple[str, ...], list[str]] = defaultdict(list)
    for line in lines:
        if not line.strip() or line.startswith("#"):
            continue
        nl, en = line.rstrip("\n").split("\t")[:2]
        key = tuple(_words(nl))
        terms[key].extend(e.strip() for e in en.split("|") if e.strip() and e.strip() not in terms[key])
    return Glossary({k: tuple(v) for k, v in terms.items()}, max((len(k) for k in terms), default=1))


@lru_cache(maxsize=4)
def load_glossary(path: Path = GLOSSARY_FILE) -> Glossary:
    """The glossary kept as data (read once per process)."""
    return parse_glossary(Path(path).read_text(encoding="utf-8").splitlines())


def _words(text: str) -> list[str]:
    """Lower-case words, hyphens and punctuation as separators ("tumor-DNA" -> tumor, dna)."""
    return _WORD.findall(text.lower())


@lru_cache(maxsize=65536)
def lemma(word: str) -> str:
    """The Dutch dictionary form of ``word`` (simplemma); separable verbs lose their mark.

    >>> lemma("ziekenhuizen"), lemma("opgenomen")
    ('ziekenhuis', 'opnemen')
    """
    import simplemma  # its dictionaries load on first use, only when a query is Dutch

    return simplemma.lemmatize(word, lang="nl").lower().replace("_", "")


def lookup(word: str, glossary: Glossary) -> tuple[str, ...] | None:
    """English renderings of one Dutch word: as written, as its lemma, or without a plural ending."""
    candidates = [word, lemma(word)]
    for ending in ("en", "s", "n", "e"):
        if word.endswith(ending) and len(word) - len(ending) >= MIN_PART:
            candidates.append(word[: -len(ending)])
    for c in candidates:
        if (found := glossary.get([c])) is not None:
            return found
    return None


def split_compound(word: str, glossary: Glossary) -> list[str] | None:
    """The fewest glossary parts that make up ``word`` (linking s/e/en allowed between them), or None.

    >>> split_compound("thuismonitoring", load_glossary())
    ['thuis', 'monitoring']
    >>> split_compound("ziekenhuisopname", load_glossary())
    ['ziekenhuis', 'opname']
    """
    best = _split(word, glossary, 0)
    return list(best) if best and len(best) > 1 else None


def _split(word: str, glossary: Glossary, depth: int) -> tuple[str, ...] | None:
    if depth > 3:
        return None
    if depth and lookup(word, glossary) is not None:
        return (word,)
    options = []
    for i in range(MIN_PART, len(word) - MIN_PART + 1):
        head = word[:i]
        if glossary.get([head]) is None:
            continue
        for link in _LINKS:
            rest = word[i:]
            if rest.startswith(link) and len(rest) - len(link) >= MIN_PART:
                tail = _split(rest[len(link):], glossary, depth + 1)
                if tail:
                    options.append((head, *tail))
    return min(options, key=lambda o: (len(o), -len(o[0]))) if options else None


def render(words: Sequence[str], glossary: Glossary) -> list[tuple[tuple[str, ...], bool]]:
    """Each unit of ``words`` (phrase, word or compound) with its English renderings; True if translated.

    >>> render(["thuismonitoring", "bij", "hartfalen", "sepsis"], load_glossary())[:2]
    [(('home', 'at home'), True), (('monitoring',), True)]
    """
    out: list[tuple[tuple[str, ...], bool]] = []
    i = 0
    while i < len(words):
        for n in range(min(glossary.longest, len(words) - i), 1, -1):
            if (found := glossary.get(words[i:i + n])) is not None:
                out.append((found, True))
                i += n
                break
        else:
            out.extend(_render_word(words[i], glossary))
            i += 1
    return out


def _render_word(word: str, glossary: Glossary) -> list[tuple[tuple[str, ...], bool]]:
    if word in STOPWORDS or word in DUTCH_MARKERS:
        return []
    if (found := lookup(word, glossary)) is not None:
        return [(found, True)]
    parts = split_compound(word, glossary) if len(word) >= 2 * MIN_PART else None
    if parts:
        return [(lookup(p, glossary) or (p,), True) for p in parts]
    return [((word,), False)]


def detect_language(text: str, glossary: Glossary | None = None) -> str:
    """``"nl"``, ``"en"`` or ``"mixed"``: by function words, else by how many words the glossary knows.

    >>> detect_language("Wij zoeken een partner voor thuismonitoring"), detect_language("Home monitoring of COPD")
    ('nl', 'en')
    >>> detect_language("thuismonitoring hartfalen")
    'nl'
    """
    words = _words(text)
    nl = sum(w in DUTCH_MARKERS for w in words)
    en = sum(w in ENGLISH_MARKERS for w in words)
    if nl and en and min(nl, en) >= 0.25 * max(nl, en) and min(nl, en) >= 2:
        return "mixed"
    if nl != en:
        return "nl" if nl > en else "en"
    glossary = glossary or load_glossary()
    content = [w for w in words if w not in STOPWORDS and len(w) > 2]
    known = sum(1 for _u, translated in render(content, glossary) if translated)
    return "nl" if content and known * 2 >= len(content) else "en"


def weighted_terms(text: str, language: str, glossary: Glossary | None = None) -> dict[str, float]:
    """BM25 tokens of a Dutch or mixed query in English, each Dutch unit weighing 1 in all.

    A unit with several renderings shares its weight among them; a mixed query keeps its own
    words too. (English queries never come here: they are scored as written.)

    >>> weighted_terms("hartfalen", "nl")
    {'heart': 1.0, 'failur': 1.0}
    """
    glossary = glossary or load_glossary()
    words = _words(text)
    out: dict[str, float] = defaultdict(float)
    for renderings, _translated in render(words, glossary):
        for en in renderings:
            for t in tokens(en):
                out[t] += 1.0 / len(renderings)
    if language == "mixed":
        for t in tokens(text):
            out[t] += 1.0
    return dict(out)


def query_terms(text: str) -> set[str]:
    """The stemmed terms a question is searched with: its own, and for a Dutch or mixed question also their
    English renderings (what BM25 scores, :func:`weighted_terms`), so that an explanation can show which words
    of the English evidence met a Dutch question.

    >>> sorted(query_terms("hartfalen thuis")), sorted(query_terms("heart failure"))
    (['failur', 'hartfalen', 'heart', 'home', 'thui'], ['failur', 'heart'])
    """
    language = detect_language(text)
    own = set(tokens(text))
    return own if language == "en" else own | set(weighted_terms(text, language))


def searched_in(text: str) -> str | None:
    """The line an explanation may show: ``"searched in Dutch and English"`` for a Dutch or mixed query.

    >>> searched_in("Valpreventie bij ouderen in het verpleeghuis"), searched_in("Fall prevention")
    ('searched in Dutch and English', None)
    """
    return SEARCHED_BOTH if detect_language(text) != "en" else None
