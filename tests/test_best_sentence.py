"""The best evidence sentence (:func:`matcher.ranking.explain._best_sentence`) against the reference it replaced.

The fast version stems only the words that may meet the query; the reference below stems every word of the text,
as explain.py did before. They must agree exactly, on real project texts and on made-up awkward ones.
"""

from __future__ import annotations

import re
from functools import cache

import pytest

from matcher.ingest.cordis import CordisData
from matcher.ranking.explain import MAX_SENTENCE, _best_sentence, _candidates, best_sentence
from matcher.retrieval.bridge import query_terms
from matcher.text import project_text, sentences, tokens, words

N_TEXTS = 400

ENGLISH_NEEDS = [
    "needle-free injection for children",
    "hybrid closed-loop insulin pump algorithm",
    "VR rehabilitation at home after stroke",
    "AI-based early detection of sepsis in intensive care",
    "dying at home: palliative care for people living with dementia",
    "covid-19 vaccine trials in 2021",
    "a reliable, low-cost point-of-care test",
]
DUTCH_NEEDS = [
    "een bedrijf dat serious games of VR-revalidatie ontwikkelt",
    "hartfalen telemonitoring thuis",
    "valpreventie bij ouderen in het verpleeghuis",
    "slimme pleister die wondinfecties meet",
]
HYPHENS = ("Needle-free! Needle-Free-Injection; -needle-free- and needle--free, free-needle-free.\n"
           "Needle_free (needles).")
LONG_SENTENCE = "Stroke " + "rehabilitation at home with virtual reality, " * 40 + "done. A short one about stroke."
AWKWARD_TEXTS = [
    "",
    "   ",
    "\n\n",
    "needle",
    "We build pumps. Our needle-free jet injects drugs.",
    HYPHENS,
    LONG_SENTENCE,
    "Line one\nLine two. Line three.\n\nLine four; 2 pumps.",
    "COVID-19 in 2020-2021: 19 trials, 2021 patients. 3D-printed 3d prints. 1-2-3 go.",
    "Dying patients. People lying in bed, tying knots; a dyed cloth. Skies, skiing, early, only, singly, ugly.",
    "İstanbul stroke units. Insulin pumps in İzmir. STROKE REHABILITATION at HOME.",
    "İİİİİİİİ stroke. A b c d e f.",  # "İ" lower-cases to two characters: offsets in the lower-cased text shift
    "A. B. C. I. " * 5 + "The end.",
    "Σίσυφος ΣΟΦΟΣ. Straße, façade, naïve café; Ærø. Injection.",
    "(Insulin) pumps. \"Closed-loop\" control. 'Hybrid' algorithms? Yes! 5 children.",
    "children's hospitals' care. Home-care, home care and homes.",
]
IRREGULAR = {"dying", "lying", "tying", "skies", "skis", "idly", "gently", "ugly", "early", "only", "singly", "news",
             "proceed", "studies", "hoping", "possibility", "organization", "activity", "cries", "eyeing"}


@pytest.fixture(scope="module")
def projects(health: CordisData) -> list[dict[str, str]]:
    """Every seventh or so real health project with an objective, N_TEXTS of them."""
    rows = [p for _, p in sorted(health.projects.items()) if p["objective"].strip()]
    chosen = rows[:: max(1, len(rows) // N_TEXTS)][:N_TEXTS]
    assert len(chosen) == N_TEXTS
    return chosen


@pytest.fixture(scope="module")
def texts(projects: list[dict[str, str]]) -> list[str]:
    return [project_text(p["title"], p["objective"]) for p in projects]


# The reference: what explain.py did before, every word of every sentence stemmed (the sentence split copied too,
# as matcher.text now finds sentences another way).
_OLD_SENTENCE = re.compile(r"(?<=[.!?;])\s+(?=[A-Z0-9(\"'])")


def _old_sentences(text: str) -> list[str]:
    return [s.strip() for s in _OLD_SENTENCE.split(text.replace("\n", " ")) if s.strip()]


@cache
def _analysed(text: str) -> tuple[tuple[str, tuple[tuple[str, frozenset[str]], ...]], ...]:
    return tuple((s, tuple((w, frozenset(tokens(w))) for w in dict.fromkeys(words(s))))
                 for s in (_old_sentences(text) or [text]))


def reference(q: frozenset[str], text: str) -> tuple[str, list[str]]:
    best, best_terms, best_n = "", [], -1
    for sent, analysed in _analysed(text):
        terms = [w for w, toks in analysed if not toks.isdisjoint(q)]
        if len(terms) > best_n:
            best, best_terms, best_n = sent, terms, len(terms)
    if len(best) > MAX_SENTENCE:
        best = best[:MAX_SENTENCE].rsplit(" ", 1)[0] + " …"
    return best, best_terms


def _agree(queries: list[frozenset[str]], texts: list[str]) -> tuple[int, int, int]:
    """Assert the fast and the reference version agree on every pair; count the pairs, those with terms, and
    those whose best sentence is not the text's first."""
    pairs = with_terms = not_first = 0
    for q in queries:
        for text in texts:
            got, want = _best_sentence(q, text), reference(q, text)
            assert got == want, (sorted(q), text)
            pairs += 1
            with_terms += bool(got[1])
            not_first += got[0] != reference(frozenset(), text)[0]
    return pairs, with_terms, not_first


def test_other_projects_titles_find_the_same_sentences(projects: list[dict[str, str]], texts: list[str]) -> None:
    queries = [frozenset(query_terms(p["title"])) for p in projects[1::40]]
    pairs, with_terms, not_first = _agree(queries, texts)
    assert pairs >= 3000 and with_terms > pairs // 4 and not_first > pairs // 10


def test_english_and_dutch_needs_find_the_same_sentences(texts: list[str]) -> None:
    queries = [frozenset(query_terms(need)) for need in ENGLISH_NEEDS + DUTCH_NEEDS]
    assert any(t not in tokens(need) for q, need in zip(queries, ENGLISH_NEEDS + DUTCH_NEEDS) for t in q), \
        "a Dutch need is searched with its English renderings too"
    pairs, with_terms, not_first = _agree(queries, texts)
    assert with_terms > pairs // 4 and not_first > pairs // 10


def test_long_questions_find_the_same_sentences(projects: list[dict[str, str]], texts: list[str]) -> None:
    """A 1,000-character objective as the question: many terms, many short heads."""
    queries = [frozenset(query_terms(p["objective"][:1000])) for p in projects[3::100]]
    assert min(map(len, queries)) > 40
    pairs, with_terms, not_first = _agree(queries, texts[::4])
    assert with_terms > pairs * 0.9 and not_first > pairs // 10


def test_awkward_texts_find_the_same_sentences(texts: list[str]) -> None:
    """Hyphens, digits, newlines, capitals, other alphabets, stop words, over-long and empty sentences."""
    needs = ENGLISH_NEEDS + DUTCH_NEEDS + ["free", "needle", "injections", "home care", "die", "sky", "19", "3d",
                                            "straße café", "istanbul", "the and of", ""]
    queries = [frozenset(query_terms(n)) if n else frozenset() for n in needs]
    queries += [frozenset(tokens(t)) for t in AWKWARD_TEXTS] + [frozenset({""}), frozenset({"-", "needle-"})]
    for q in queries:
        for text in AWKWARD_TEXTS + texts[:20]:
            assert _best_sentence(q, text) == reference(q, text), (sorted(q), text)
    assert _best_sentence(frozenset(tokens("stroke")), LONG_SENTENCE)[0].endswith(" …")
    assert _best_sentence(frozenset(tokens("stroke")), "\n\n") == ("\n\n", [])
    assert _best_sentence(frozenset(tokens("free")), HYPHENS) == (
        "Needle-Free-Injection; -needle-free- and needle--free, free-needle-free.",
        ["needle-free-injection", "needle-free", "needle--free", "free-needle-free"])


def test_best_sentence_reads_a_dutch_question_in_english() -> None:
    text = "We build telescopes. A telemonitoring service for heart failure patients at home."
    assert best_sentence("hartfalen telemonitoring thuis", text) == (
        "A telemonitoring service for heart failure patients at home.", ["telemonitoring", "heart", "failure", "home"])


def test_sentences_are_split_as_before(texts: list[str]) -> None:
    for text in texts + AWKWARD_TEXTS:
        assert sentences(text) == _old_sentences(text)


def test_every_word_is_a_candidate_for_each_of_its_tokens(texts: list[str]) -> None:
    """What the fast version rests on: a word, or a part of a hyphenated one, that stems to a term starts with the
    term but for its last character (two for a term ending in "ie": dying -> die). Checked on every word read and
    on the stemmer's irregular forms: a stemmer that changed more of a word would fail here."""
    for word in {w for text in texts + AWKWARD_TEXTS for w in words(text)} | IRREGULAR:
        for term in tokens(word):
            assert _candidates(frozenset({term})).search(f" {word}"), (word, term)
