"""Text helpers, the kind mapping of the CORDIS importer, and the explanation sentences."""

from __future__ import annotations

import pytest

from matcher.errors import InvalidInput
from matcher.ingest.cordis import org_kind
from matcher.ranking.explain import best_sentence
from matcher.text import clean_query, sentences, tokens


def test_tokens_keep_acronyms_and_split_hyphens() -> None:
    assert "mdr" in tokens("MDR and CE-marking")
    assert {"ce-mark", "ce", "mark"} <= set(tokens("CE-marking"))
    assert "the" not in tokens("the device") and "het" not in tokens("het apparaat")


def test_sentences_and_best_sentence() -> None:
    text = "We make pumps. Our microneedle patch delivers vaccines painlessly. We are based in Enschede."
    assert len(sentences(text)) == 3
    s, terms = best_sentence("painless microneedle vaccination", text)
    assert s == "Our microneedle patch delivers vaccines painlessly." and "microneedle" in terms


@pytest.mark.parametrize("name,activity,sme,kind", [
    ("STICHTING RADBOUD UNIVERSITAIR MEDISCH CENTRUM", "HES", False, "hospital"),
    ("ZIEKENHUIS GROEP TWENTE", "OTH", False, "hospital"),
    ("CHARITE - UNIVERSITAETSMEDIZIN BERLIN", "HES", False, "hospital"),
    ("UNIVERSITEIT TWENTE", "HES", False, "university"),
    ("LIONIX INTERNATIONAL BV", "PRC", True, "sme"),
    ("PHILIPS MEDICAL SYSTEMS NEDERLAND BV", "PRC", False, "large_company"),
    ("STICHTING WAGENINGEN RESEARCH", "REC", False, "research_institute"),
    ("GEMEENTE HARDENBERG", "PUB", False, "public_body"),
    ("ZORGGROEP TWENTE", "OTH", False, "care_institution"),
])
def test_cordis_kind_mapping(name: str, activity: str, sme: bool, kind: str) -> None:
    assert org_kind(name, activity, sme) == kind


def test_clean_query_refuses_empty_and_huge_text() -> None:
    assert clean_query("  naaldvrije injectie ") == "naaldvrije injectie"
    for bad in ("", "   \n\t", "x" * 20001):
        with pytest.raises(InvalidInput):
            clean_query(bad)
