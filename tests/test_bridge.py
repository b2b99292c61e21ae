"""The lexical bridge: the real glossary, real lemmas (simplemma), real texts; and its hook in BM25."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from matcher.demo import DEMO_DIR
from matcher.ingest.cordis import CordisData
from matcher.retrieval.bridge import (
    GLOSSARY_FILE,
    SEARCHED_BOTH,
    detect_language,
    load_glossary,
    lookup,
    searched_in,
    split_compound,
    weighted_terms,
)
from matcher.retrieval.lexical import LexicalIndex
from matcher.text import project_text, tokens

PAIRS = Path(__file__).resolve().parent.parent / "data" / "crosslingual"


def test_the_glossary_is_well_formed_and_covers_the_field() -> None:
    rows = [line.split("\t") for line in GLOSSARY_FILE.read_text(encoding="utf-8").splitlines()
            if line.strip() and not line.startswith("#")]
    assert all(len(r) == 3 and r[0] == r[0].lower().strip() and r[1].strip() for r in rows), \
        [r for r in rows if len(r) != 3]
    assert {r[2] for r in rows} >= {"medical", "care", "technology"}
    assert len(load_glossary().terms) >= 300
    assert (GLOSSARY_FILE.parent / "README.md").read_text().count("Licence") == 1


@pytest.mark.parametrize("word, parts", [("ziekenhuisopname", ["ziekenhuis", "opname"]),
                                         ("thuismonitoring", ["thuis", "monitoring"]),
                                         ("longkankerscreening", ["longkanker", "screening"]),
                                         ("hartfalenverpleegkundige", ["hartfalen", "verpleegkundige"]),
                                         ("wondzorgteams", None)])
def test_compounds_split_into_the_fewest_known_parts(word: str, parts: list[str] | None) -> None:
    """Splitting is by the glossary's parts ("wondzorgteams" has no known last part: not split)."""
    assert split_compound(word, load_glossary()) == parts
    if word == "ziekenhuisopname":  # a word the glossary knows whole is rendered whole (lookup first)
        assert lookup(word, load_glossary()) == ("hospital admission", "hospitalisation")


def test_a_word_is_found_through_its_lemma_or_plural() -> None:
    g = load_glossary()
    assert lookup("ziekenhuizen", g) == lookup("ziekenhuis", g) == ("hospital",)
    assert lookup("wijkverpleegkundigen", g) == lookup("wijkverpleegkundige", g)
    assert lookup("sepsis", g) is None and split_compound("sepsis", g) is None


def test_every_pair_text_is_detected_in_its_language() -> None:
    pairs = json.loads((PAIRS / "pairs.json").read_text()) + json.loads((PAIRS / "heldout.json").read_text())
    assert [detect_language(p["nl"]) for p in pairs] == ["nl"] * len(pairs)
    assert [detect_language(p["en"]) for p in pairs] == ["en"] * len(pairs)


def test_every_english_catalogue_text_stays_english() -> None:
    """English evidence (and so the English evaluation's queries) never goes over the bridge."""
    projects = CordisData.read(DEMO_DIR).projects.values()
    found = {detect_language(project_text(p["title"], p["objective"])) for p in projects}
    assert found == {"en"}


def test_mixed_and_short_queries() -> None:
    assert detect_language("Wij zoeken een partner voor CE marking under the MDR, with a notified body and "
                           "the technical file") == "mixed"
    assert detect_language("thuismonitoring hartfalen") == "nl"
    assert detect_language("heart failure telemonitoring") == "en"


def test_dutch_terms_weigh_in_english() -> None:
    terms = weighted_terms("Thuismonitoring van kinderen met hartfalen", "nl")
    assert terms["heart"] == terms["failur"] == 1.0 and terms["monitor"] >= 1.0
    kid = [t for r in lookup("kinderen", load_glossary()) or () for t in tokens(r)]
    assert len(kid) > 1 and sum(terms[t] for t in set(kid)) == pytest.approx(1.0)  # one word weighs one
    assert not {"thuismonitor", "kinder", "hartfalen"} & set(terms)
    mixed = weighted_terms("Wij zoeken een partner voor CE marking", "mixed")
    assert {"mark", "partner"} <= set(mixed)


def test_the_explanation_line_is_for_dutch_queries_only() -> None:
    assert searched_in("Valpreventie bij kwetsbare ouderen") == SEARCHED_BOTH
    assert searched_in("Fall prevention for frail elderly people") is None


def test_bm25_finds_english_evidence_for_a_dutch_query_and_scores_english_as_before() -> None:
    texts = ["Remote monitoring of patients with chronic heart failure at home after hospital discharge.",
             "Microfluidic organ-on-chip models of the liver for drug toxicity testing.",
             "Wearable sensors for fall prevention in frail older adults living in nursing homes."]
    index = LexicalIndex().fit([10, 11, 12], texts)
    for query, best in [("Thuismonitoring bij hartfalen na ontslag uit het ziekenhuis", 0),
                        ("Orgaan-op-een-chip voor het testen van de giftigheid van geneesmiddelen", 1),
                        ("Valpreventie bij kwetsbare ouderen in verpleeghuizen", 2)]:
        s = index.scores(query)
        assert int(np.argmax(s)) == best and s[best] > 0, (query, s)
    english = "heart failure monitoring at home"
    q = [t for t in tokens(english) if t in index._bm25.vocab_dict]  # type: ignore[union-attr]
    assert np.array_equal(index.scores(english), np.asarray(index._bm25.get_scores(q), np.float32))  # type: ignore[union-attr]
