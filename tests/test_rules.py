"""Funding-instrument rules: every rule of every instrument, with a passing and a failing team and its sentence."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from matcher.errors import InvalidInput
from matcher.rules import (
    INSTRUMENT_IDS,
    INSTRUMENTS_DIR,
    Partner,
    check_team,
    cost_shares,
    is_eligible,
    load_countries,
    load_instrument,
)


def P(kind: str, country: str, sme: bool = False, cost: float | None = None, name: str = "",
      oid: int | None = None, service: bool = False) -> Partner:
    return Partner(kind, country, sme, cost, name, oid, service)


UNI_NL, HOSP_DE, RI_FR, UNI_BE = P("university", "NL"), P("hospital", "DE"), P("research_institute", "FR"), \
    P("university", "BE")
SME_NL, SME_NL2, SME_DE = P("sme", "NL", True, name="Twente Sensors"), P("startup", "NL"), P("sme", "DE", True)
UNI_UK, UNI_NO, UNI_CH, UNI_US = P("university", "UK"), P("university", "NO"), P("university", "CH"), \
    P("university", "US")
OFFICE_DE = P("sme", "DE", True, name="Research Project Office GmbH", service=True)
OFFICE_NL = P("sme", "NL", True, name="Grant Consulting BV", service=True)
ANY_LEAD = "needs a lead partner: an organisation"

# (instrument, rule id, a team that passes it, a team that fails it, words of the failure sentence)
CASES = [
    *[(i, "lead", [OFFICE_DE, UNI_NL, HOSP_DE], [], ANY_LEAD)
      for i in ("horizon-ria", "horizon-ia", "horizon-csa", "eic-pathfinder", "care-pilot")],
    ("horizon-ria", "three-countries", [UNI_NL, HOSP_DE, RI_FR], [UNI_NL, HOSP_DE],
     "needs one more partner from a different EU member state or associated country (has 2 of 3: DE, NL)"),
    ("horizon-ria", "three-countries", [UNI_NL, UNI_NO, UNI_UK], [UNI_NL, P("sme", "NL"), UNI_US],
     "needs two more partners, each from a different EU member state or associated country (has 1 of 3: NL)"),
    ("horizon-ria", "member-state", [UNI_NO, UNI_UK, UNI_NL], [UNI_NO, UNI_UK, P("university", "IL")],
     "needs a partner established in an EU member state"),
    ("horizon-ia", "three-countries", [UNI_NL, HOSP_DE, RI_FR], [UNI_NL, HOSP_DE, P("sme", "DE", True)],
     "needs one more partner from a different EU member state or associated country"),
    ("horizon-ia", "member-state", [UNI_NL, UNI_NO, UNI_UK], [UNI_NO, UNI_UK, P("sme", "TR")],
     "needs a partner established in an EU member state"),
    ("horizon-csa", "one-eligible-entity", [UNI_NO], [UNI_US, P("university", "JP")],
     "needs a partner established in an EU member state or associated country"),
    ("eic-pathfinder", "three-countries", [UNI_NL, HOSP_DE, RI_FR], [UNI_NL, HOSP_DE, UNI_US],
     "needs one more partner from a different EU member state or associated country (has 2 of 3: DE, NL)"),
    ("eic-pathfinder", "member-state", [UNI_NO, UNI_UK, UNI_NL], [UNI_NO, UNI_UK, P("university", "RS")],
     "needs a partner established in an EU member state"),
    ("eurostars", "sme-lead", [SME_NL, UNI_BE], [UNI_BE, SME_NL],
     "the lead partner (the university from BE) is not an SME; the lead must be an SME from a Eurostars"),
    ("eurostars", "sme-lead", [SME_NL, UNI_BE], [P("startup", "US", True, name="Acme Inc"), SME_NL],
     "the lead partner (Acme Inc) is in US, not a Eurostars participating country"),
    ("eurostars", "sme-lead", [SME_DE, OFFICE_NL], [OFFICE_DE, SME_NL],
     "the lead partner (Research Project Office GmbH) is a service firm (project management, consulting or "
     "communication), not an organisation that performs the R&D"),
    ("eurostars", "two-countries", [SME_NL, UNI_BE], [SME_NL, SME_NL2],
     "needs one more partner from a different Eurostars participating country (has 1 of 2: NL)"),
    ("eurostars", "european-partner", [P("sme", "SG", True), UNI_BE], [P("sme", "SG", True), P("sme", "ZA", True)],
     "needs a partner established in an EU member state or associated country"),
    ("eurostars", "sme-cost-share", [SME_NL, UNI_BE], [SME_NL, UNI_BE, RI_FR],
     "SMEs hold 33% of the cost (equal shares assumed), below the required 50%: add an SME"),
    ("eurostars", "sme-cost-share", [P("sme", "NL", True, 60), P("university", "BE", False, 40)],
     [P("sme", "NL", True, 40), P("university", "BE", False, 60)],
     "SMEs hold 40% of the cost, below the required 50%"),
    ("eurostars", "sme-cost-share", [SME_NL, OFFICE_DE, SME_DE, UNI_BE], [SME_NL, OFFICE_DE, UNI_BE],
     "SMEs hold 33% of the cost (equal shares assumed), below the required 50%: add an SME or give the SMEs a "
     "larger share (service firms do not count: they do not perform the R&D)"),
    ("eurostars", "balanced-participants", [P("sme", "NL", True, 70), P("sme", "BE", True, 30)],
     [P("sme", "NL", True, 80, "Twente Sensors"), P("university", "BE", False, 20)],
     "Twente Sensors holds 80% of the cost, more than the allowed 70%"),
    ("eurostars", "balanced-countries", [P("sme", "NL", True, 50), P("sme", "NL", True, 10), P(
        "university", "BE", False, 40)], [P("sme", "NL", True, 50), P("sme", "NL", True, 30), P(
            "university", "BE", False, 20)], "NL holds 80% of the cost, more than the allowed 70%"),
    ("mit-rd", "two-smes", [SME_NL, SME_NL2], [SME_NL, UNI_NL],
     "needs one more SME established in the Netherlands (has 1 of 2)"),
    ("mit-rd", "two-smes", [SME_NL, SME_NL2, UNI_NL], [SME_NL, SME_DE],
     "needs one more SME established in the Netherlands (has 1 of 2)"),
    ("mit-rd", "two-smes", [SME_NL, OFFICE_NL, SME_NL2], [SME_NL, OFFICE_NL],
     "needs one more SME established in the Netherlands (has 1 of 2) (service firms do not count"),
    ("mit-rd", "sme-lead", [SME_NL, SME_NL2], [UNI_NL, SME_NL],
     "the lead partner (the university from NL) is not an SME; the lead must be an SME in the Netherlands"),
    ("mit-rd", "sme-lead", [SME_NL, OFFICE_NL], [OFFICE_NL, SME_NL],
     "the lead partner (Grant Consulting BV) is a service firm"),
    ("mit-rd", "balanced-participants", [P("sme", "NL", True, 6), P("sme", "NL", True, 4)],
     [P("sme", "NL", True, 9, "Twente Sensors"), P("sme", "NL", True, 1)],
     "Twente Sensors holds 90% of the cost, more than the allowed 70%"),
    ("care-pilot", "care-provider", [SME_NL, P("care_institution", "NL")], [SME_NL, UNI_NL],
     "needs a hospital or care institution"),
    ("care-pilot", "company", [P("large_company", "DE"), HOSP_DE], [HOSP_DE, UNI_NL], "needs a company"),
]


def _result(instrument: str, rule: str, team: list[Partner]):  # type: ignore[no-untyped-def]
    return next(r for r in check_team(load_instrument(instrument), team) if r.rule == rule)


@pytest.mark.parametrize("instrument,rule,good,bad,sentence", CASES, ids=[f"{c[0]}:{c[1]}" for c in CASES])
def test_each_rule_passes_and_fails_with_its_sentence(instrument: str, rule: str, good: list[Partner],
                                                      bad: list[Partner], sentence: str) -> None:
    ok, ko = _result(instrument, rule, good), _result(instrument, rule, bad)
    assert ok.passed and ok.shortfall == 0, ok
    assert not ko.passed and ko.shortfall >= 1
    assert sentence in ko.message
    assert ko.to_dict().keys() >= {"rule", "passed", "message"} and ko.to_dict()["passed"] is False


def test_every_rule_of_every_instrument_is_covered() -> None:
    covered = {(c[0], c[1]) for c in CASES}
    every = {(i, r.id) for i in INSTRUMENT_IDS for r in load_instrument(i).rules}
    assert every == covered


def test_every_instrument_cites_its_source_and_loads() -> None:
    files = sorted(p.stem for p in INSTRUMENTS_DIR.glob("*.yaml") if p.stem != "countries")
    assert files == sorted(INSTRUMENT_IDS)
    for i in INSTRUMENT_IDS:
        ins = load_instrument(i)
        assert ins.id == i and ins.rules and ins.min_size >= 1
        assert ins.source["document"] and int(ins.source["year"]) >= 2020


def test_every_rule_text_label_and_country_group_has_its_dutch_name() -> None:
    """The web UI shows them on Dutch pages; the English stays the text of the CLI and the JSON API."""
    groups = load_countries()
    assert all(g.name.translations.get("nl") for g in groups.values())
    netherlands = groups["netherlands"].name
    assert netherlands == "the Netherlands" and netherlands.translations["nl"] == "Nederland"
    for i in INSTRUMENT_IDS:
        for r in load_instrument(i).rules:
            assert r.text.translations.get("nl"), (i, r.id)
            assert "text_nl" not in r.params and "label_nl" not in r.params
            if "label" in r.params:
                assert r.params["label"].translations.get("nl"), (i, r.id)
    care = load_instrument("care-pilot")
    assert care.name.startswith("Care pilot") and care.name.translations["nl"].startswith("Zorgpilot")


def test_eligible_teams_per_instrument() -> None:
    assert is_eligible(check_team(load_instrument("horizon-ria"), [UNI_NL, HOSP_DE, RI_FR]))
    assert is_eligible(check_team(load_instrument("eurostars"), [SME_NL, UNI_BE]))
    assert is_eligible(check_team(load_instrument("mit-rd"), [SME_NL, SME_NL2]))
    assert is_eligible(check_team(load_instrument("care-pilot"), [SME_NL, HOSP_DE]))
    assert not is_eligible(check_team(load_instrument("horizon-ria"), []))


def test_the_same_organisation_twice_counts_once() -> None:
    """Distinct organisations are treated as independent; one organisation listed twice is one entity."""
    team = [P("university", "NL", oid=1), P("hospital", "DE", oid=2), P("hospital", "DE", oid=2)]
    assert _result("mit-rd", "two-smes", [P("sme", "NL", True, oid=5), P("sme", "NL", True, oid=5)]).passed is False
    assert _result("horizon-ria", "three-countries", team).message.startswith("needs one more partner")


def test_a_small_institute_with_an_sme_flag_is_not_the_rd_performing_sme() -> None:
    """CORDIS flags small foundations and institutes as SMEs; Eurostars and MIT ask for an enterprise."""
    institute = P("research_institute", "NL", True, name="Stichting Voorbeeld Instituut")
    lead = _result("eurostars", "sme-lead", [institute, SME_DE])
    assert not lead.passed and "research institute, not an enterprise" in lead.message
    assert _result("eurostars", "sme-lead", [SME_NL, institute]).passed
    assert not _result("mit-rd", "two-smes", [SME_NL, institute]).passed  # one enterprise SME only
    assert _result("horizon-ria", "three-countries", [institute, HOSP_DE, RI_FR]).passed  # elsewhere as before


def test_associated_countries_follow_their_dates() -> None:
    before, after = load_countries(as_of=dt.date(2023, 6, 1)), load_countries(as_of=dt.date(2025, 2, 1))
    assert "UK" not in before["associated_countries"].codes and "UK" in after["associated_countries"].codes
    assert "CH" not in before["associated_countries"].codes and "CH" in after["associated_countries"].codes
    assert {"EL", "NL", "DE"} <= before["member_states"].codes and "GR" not in before["member_states"].codes
    team = [UNI_NL, HOSP_DE, UNI_CH]
    assert not is_eligible(check_team(load_instrument("horizon-ria", as_of=dt.date(2024, 5, 1)), team))
    assert is_eligible(check_team(load_instrument("horizon-ria", as_of=dt.date(2025, 5, 1)), team))


def test_cost_shares_given_or_assumed() -> None:
    assert cost_shares([P("sme", "NL", cost=3), P("sme", "BE", cost=1)]) == ([0.75, 0.25], False)
    assert cost_shares([P("sme", "NL", cost=3), P("sme", "BE")]) == ([0.5, 0.5], True)
    with pytest.raises(InvalidInput, match="cost_share"):
        cost_shares([P("sme", "NL", cost=-1)])


def test_unknown_and_broken_instruments_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="unknown instrument 'horizon-xyz'; expected one of: care-pilot"):
        load_instrument("horizon-xyz")
    (tmp_path / "countries.yaml").write_text((INSTRUMENTS_DIR / "countries.yaml").read_text())
    (tmp_path / "bad.yaml").write_text("id: bad\nname: Bad\nsource: {document: x, year: 2024}\nsize: {min: 1}\n"
                                       "rules: [{id: r, type: telepathy, text: reads minds}]\n")
    with pytest.raises(InvalidInput, match="needs an id, a text and a type"):
        load_instrument("bad", tmp_path)
    (tmp_path / "worse.yaml").write_text("id: worse\nname: W\nsource: {document: x, year: 2024}\nsize: {min: 1}\n"
                                         "rules: [{id: r, type: members_in, count: 1, countries: [mars], text: t}]\n")
    with pytest.raises(InvalidInput, match="unknown country groups"):
        load_instrument("worse", tmp_path)
    (tmp_path / "nosource.yaml").write_text("id: nosource\nname: N\nsource: {}\nsize: {min: 1}\nrules: []\n")
    with pytest.raises(InvalidInput, match="source.document"):
        load_instrument("nosource", tmp_path)
