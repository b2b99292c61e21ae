"""The consortium builder on a hand-made catalogue where the best team is known; fixed members, exclusions,
size limits, the swap, the CLI's JSON shape."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from matcher.consortium import (
    COVER,
    CallRole,
    Candidate,
    Consortium,
    Pool,
    Weights,
    assign_roles,
    build_consortium,
    call_roles,
    choose_team,
    forced_reasons,
    is_service_firm,
    name_cue,
    responsibilities,
    select_team,
    split_aspects,
    swap_member,
)
from matcher.consortium.firms import MANY_CONSORTIA, evidence_thread, evidence_topics
from matcher.consortium.pool import catalogue_of, find_service_firms
from matcher.domain import Filters, Organisation
from matcher.engine import Matcher
from matcher.errors import InvalidInput, NotFound
from matcher.ingest.cordis import CordisData
from matcher.retrieval.embed import Encoder
from matcher.retrieval.lexical import LexicalIndex
from matcher.rules import Partner, check_team, is_eligible, load_instrument, purpose
from matcher.storage.store import Store
from tests.conftest import open_demo
from tests.test_cli import cli_env, run, write_cordis  # noqa: F401  (cli_env is a fixture)

CALL = ("We develop a wearable ECG patch for remote monitoring of heart failure patients at home. "
        "Machine learning algorithms must detect atrial fibrillation and arrhythmia in the ECG signal. "
        "A hospital cardiology department must run a clinical pilot study with heart failure patients. "
        "We need support with the Medical Device Regulation, CE marking and regulatory approval.")

# name: (kind, country, sme, visibility, description); the best team for CALL with Twente Sensors fixed is
# Twente Sensors + Cardio AI Lab (DE) + Lyon Heart Hospital (FR) + RegPath (BE): one member per aspect
CATALOGUE = {
    "Twente Sensors": ("startup", "NL", True, "public",
                       "Startup making a wearable ECG patch and a remote monitoring platform for cardiology."),
    "Cardio AI Lab": ("university", "DE", False, "public",
                      ("University lab for machine learning on ECG signals: deep learning detection of atrial "
                      "fibrillation and arrhythmia from wearable recordings.")),
    "Lyon Heart Hospital": ("hospital", "FR", False, "public",
                            ("Hospital cardiology department running clinical pilot studies and trials with heart "
                            "failure patients, including remote monitoring at home.")),
    "RegPath": ("sme", "BE", True, "public",
                ("Regulatory consultancy for medical devices: Medical Device Regulation (MDR), CE marking, "
                "notified bodies and regulatory approval.")),
    "Patchwork Wearables": ("startup", "NL", True, "public",
                            "Another startup with a wearable ECG patch for remote heart monitoring at home."),
    "Milk Robotics": ("sme", "NL", True, "public", "Robots for milking cows and dairy farm automation."),
    "Wind Lab": ("research_institute", "DK", False, "public", "Wind turbine blade aerodynamics and offshore energy."),
    "Knee Clinic Madrid": ("hospital", "ES", False, "public",
                           "Orthopaedic hospital for knee replacement surgery and sports injuries."),
    "Stealth ECG Lab": ("research_institute", "IT", False, "staff",
                        "Machine learning detection of atrial fibrillation and arrhythmia in ECG signals."),
    "Vienna Bakery": ("other", "AT", False, "public", "Artisan bread and pastry bakery."),
    "Oncopharm": ("large_company", "CH", False, "public", "Oncology drug development and cancer immunotherapy."),
    "Zorggroep Oost": ("care_institution", "NL", False, "public",
                       "Elderly care homes with fall detection and home care for older people."),
}


@pytest.fixture(scope="module")
def hand(tmp_path_factory: pytest.TempPathFactory, encoder: Encoder) -> Iterator[tuple[Matcher, dict[str, int]]]:
    store = Store(f"sqlite:///{tmp_path_factory.mktemp('consortium') / 'c.db'}")
    orgs = [Organisation(name, kind=k, country=c, sme=s, visibility=v, description=d)
            for name, (k, c, s, v, d) in CATALOGUE.items()]
    ids = dict(zip(CATALOGUE, store.upsert_organisations(orgs)))
    m = Matcher(store, encoder, None)
    m.sync()
    yield m, ids
    store.close()


def _names(result: dict, ids: dict[str, int]) -> list[str]:  # type: ignore[type-arg]
    by_id = {v: k for k, v in ids.items()}
    return [by_id[m["organisation"]["id"]] for m in result["members"]]


RIA = load_instrument("horizon-ria")
PUBLIC = ("public",)


def test_split_aspects() -> None:
    aspects = split_aspects(CALL)
    assert len(aspects) == 4 and aspects[0].startswith("We develop") and aspects[3].endswith("approval.")
    long = " ".join(f"Sentence number {i} talks about topic {i}." for i in range(30))
    assert len(split_aspects(long)) == 12 and "number 0" in split_aspects(long)[0]
    assert split_aspects("ECG.") == ["ECG."]


def test_the_best_team_is_found_with_roles_and_rules(hand: tuple[Matcher, dict[str, int]]) -> None:
    m, ids = hand
    c = build_consortium(m, CALL, RIA, fixed=[ids["Twente Sensors"]], size=4, visible=PUBLIC).to_dict()
    names = _names(c, ids)
    assert names[0] == "Twente Sensors" and c["members"][0]["fixed"] is True
    assert set(names) == {"Twente Sensors", "Cardio AI Lab", "Lyon Heart Hospital", "RegPath"}
    assert c["eligible"] is True and all(r["passed"] for r in c["rules"]) and c["uncovered"] == []
    roles = {n: m_ for n, m_ in zip(names, c["members"])}
    assert any("atrial fibrillation" in a for a in roles["Cardio AI Lab"]["aspects"])
    assert any("clinical pilot" in a for a in roles["Lyon Heart Hospital"]["aspects"])
    assert any("CE marking" in a for a in roles["RegPath"]["aspects"])
    assert roles["RegPath"]["role"].startswith("partner, sme from BE:")
    assert roles["Twente Sensors"]["role"].startswith("coordinator (fixed), startup from NL")
    assert set(c["members"][0]["organisation"]) >= {"id", "name", "kind", "country"}


def test_without_coverage_the_look_alike_competitor_gets_in(hand: tuple[Matcher, dict[str, int]]) -> None:
    """The weights matter: relevance alone prefers the second ECG-patch startup; coverage, diversity and the
    role the call names ("we need support with the Medical Device Regulation") do not."""
    m, ids = hand
    plain = build_consortium(m, CALL, RIA, fixed=[ids["Twente Sensors"]], size=4, visible=PUBLIC,
                             weights=Weights(coverage=0, kind=0, country=0, rules=0, role=0, fill=0)).to_dict()
    assert "Patchwork Wearables" in _names(plain, ids)


def test_rules_force_a_valid_team(hand: tuple[Matcher, dict[str, int]]) -> None:
    m, ids = hand
    # the German and French partners are excluded; three countries are still needed for three places
    c = build_consortium(m, CALL, RIA, fixed=[ids["Twente Sensors"]], size=3, visible=PUBLIC,
                         exclude=[ids["Cardio AI Lab"], ids["Lyon Heart Hospital"]]).to_dict()
    names = _names(c, ids)
    assert "Cardio AI Lab" not in names and "Lyon Heart Hospital" not in names
    assert c["eligible"] is True and len({m_["organisation"]["country"] for m_ in c["members"]}) == 3


def test_responsibilities_and_uncovered_aspects() -> None:
    """Each aspect goes to the member that scores best on it, if that score reaches COVER; else it is uncovered."""
    pool = Pool(["a", "b", "c"], {1: Candidate(Partner("sme", "NL"), 1.0, np.array([0.9, 0.6, 0.1])),
                                  2: Candidate(Partner("university", "DE"), 0.5, np.array([0.2, 0.8, COVER - 0.01])),
                                  3: Candidate(Partner("hospital", "FR"), 0.4, np.array([0.0, 0.0, 1.0]))})
    assert responsibilities(pool, [1, 2]) == ({1: [0], 2: [1]}, [2])
    assert responsibilities(pool, [2, 1, 3]) == ({2: [1], 1: [0], 3: [2]}, [])
    assert choose_team(pool, RIA, 3, fixed=[2]) == [2, 1, 3]
    assert choose_team(pool, RIA, 2, exclude=[1]) == [2, 3]


def test_an_impossible_team_fails_its_rules_with_sentences(hand: tuple[Matcher, dict[str, int]]) -> None:
    m, ids = hand
    only_nl = Filters(countries=["NL"])
    c = build_consortium(m, CALL, RIA, fixed=[ids["Twente Sensors"]], size=3, visible=PUBLIC,
                         filters=only_nl).to_dict()
    assert c["eligible"] is False
    failed = [r for r in c["rules"] if not r["passed"]]
    assert [r["rule"] for r in failed] == ["three-countries"]
    assert failed[0]["message"].startswith("needs two more partners, each from a different EU member state")


def test_visibility_and_care_pilot(hand: tuple[Matcher, dict[str, int]]) -> None:
    m, ids = hand
    text = "Machine learning detection of atrial fibrillation in ECG signals, piloted in care."
    for visible, hidden_in in ((PUBLIC, False), (("public", "members", "staff"), True)):
        c = build_consortium(m, text, load_instrument("care-pilot"), size=4, visible=visible).to_dict()
        assert ("Stealth ECG Lab" in _names(c, ids)) == hidden_in
        assert c["eligible"] is True
        kinds = {m_["organisation"]["kind"] for m_ in c["members"]}
        assert kinds & {"hospital", "care_institution"} and kinds & {"startup", "sme", "large_company"}


def test_swap_replaces_one_member_and_rechecks(hand: tuple[Matcher, dict[str, int]]) -> None:
    m, ids = hand
    fixed = [ids["Twente Sensors"]]
    first = build_consortium(m, CALL, RIA, fixed=fixed, size=4, visible=PUBLIC)
    team = [x.organisation.id or 0 for x in first.members]
    out = ids["Lyon Heart Hospital"]
    after = swap_member(m, CALL, RIA, team, out, fixed=fixed, visible=PUBLIC).to_dict()
    new = [x["organisation"]["id"] for x in after["members"]]
    assert out not in new and len(new) == 4
    assert [i for i in new if i not in team] and new.index(next(i for i in new if i not in team)) == team.index(out)
    assert after["eligible"] is True  # the replacement keeps three countries
    again = build_consortium(m, CALL, RIA, fixed=fixed, size=4, visible=PUBLIC, swaps=[out]).to_dict()
    assert [x["organisation"]["id"] for x in again["members"]] == new
    with pytest.raises(InvalidInput, match="fixed member and cannot be swapped"):
        swap_member(m, CALL, RIA, team, fixed[0], fixed=fixed, visible=PUBLIC)
    with pytest.raises(InvalidInput, match="is not a member"):
        swap_member(m, CALL, RIA, team, ids["Wind Lab"], fixed=fixed, visible=PUBLIC)


def test_bad_input_is_refused(hand: tuple[Matcher, dict[str, int]]) -> None:
    m, ids = hand
    with pytest.raises(InvalidInput, match="at least 3 partners"):
        build_consortium(m, CALL, RIA, size=2)
    with pytest.raises(InvalidInput, match="both fixed and excluded"):
        build_consortium(m, CALL, RIA, fixed=[ids["RegPath"]], exclude=[ids["RegPath"]])
    with pytest.raises(NotFound):
        build_consortium(m, CALL, RIA, fixed=[987654])
    with pytest.raises(InvalidInput, match="text"):
        build_consortium(m, "   ", RIA)


def test_cli_json_shape(cli_env: Path, small_cordis: CordisData) -> None:  # noqa: F811
    folder = write_cordis(small_cordis, cli_env / "cordis")
    assert run("import", "cordis", str(folder), "--json")[0] == 0
    code, out, _ = run("search", "wearable sensor for heart patients", "-k", "1", "--json")
    lead = json.loads(out)["data"][0]["organisation"]["id"]
    call = cli_env / "call.txt"
    call.write_text("Wearable sensors for heart patients at home. Clinical trials in hospitals. Data privacy.")
    code, out, _ = run("consortium", "--instrument", "horizon-ria", "--text", str(call), "--fixed", str(lead),
                       "--size", "4", "--json")
    assert code == 0, out
    body = json.loads(out)
    assert set(body) >= {"members", "uncovered", "rules", "eligible"}
    assert body["members"][0]["organisation"]["id"] == lead and len(body["members"]) == 4
    for m in body["members"]:
        assert {"id", "name", "kind", "country"} <= set(m["organisation"]) and isinstance(m["role"], str)
        assert isinstance(m["aspects"], list)
    assert all(set(r) >= {"rule", "passed", "message"} and isinstance(r["passed"], bool) for r in body["rules"])
    assert isinstance(body["eligible"], bool) and isinstance(body["uncovered"], list)
    second = body["members"][1]["organisation"]["id"]
    code, out, _ = run("consortium", "--instrument", "horizon-ria", "--text", str(call), "--fixed", str(lead),
                       "--size", "4", "--swap", str(second), "--json")
    assert code == 0 and second not in [m["organisation"]["id"] for m in json.loads(out)["members"]]
    code, out, _ = run("consortium", "--instrument", "horizon-ria", "--text", str(call), "--fixed", str(lead))
    assert code == 0 and "eligible" in out  # the human table
    named = cli_env / "named.txt"
    named.write_text("Wearable sensors for heart patients at home. We need a hospital for a clinical trial.")
    code, out, _ = run("consortium", "--instrument", "horizon-ria", "--text", str(named))
    assert code == 0 and "role hospital (a hospital for a clinical trial): filled by " in out, out
    assert not any(m["service_firm"] for m in body["members"])
    code, out, _ = run("consortium", "--instrument", "horizon-ria", "--text", str(call), "--fixed", str(lead),
                       "--size", "4", "--support", "--json")
    helped = json.loads(out)["members"]
    assert code == 0 and [m["service_firm"] for m in helped] == [False, False, False, True], helped
    assert helped[0]["organisation"]["id"] == lead and helped[3]["reason"].startswith("project support")


def test_evaluation_maps_schemes_and_summarises() -> None:
    from matcher.evaluation.consortium_eval import instrument_for, markdown, summarise

    assert instrument_for("HORIZON-RIA") == instrument_for("HORIZON-JU-IA") == "horizon-ria"
    assert instrument_for("HORIZON-JU-CSA") == "horizon-csa" and instrument_for("HORIZON-EIC") == "eic-pathfinder"
    assert instrument_for("HORIZON-ERC-SYG") is None
    assert instrument_for("HORIZON-JU-RIA", "HORIZON-JU-GH-EDCTP3-2023-01") is None
    row = {"builder": {"recovered": 0.5, "eligible": 1.0, "coverage": 1.0, "aspect_score": 0.8},
           "baseline": {"recovered": 0.25, "eligible": 0.0, "coverage": 0.5, "aspect_score": 0.6},
           "instrument": "horizon-ria", "real_eligible": 1.0}
    out = summarise([row, {**row, "builder": {**row["builder"], "recovered": float("nan")}}], Weights())
    assert out["builder"]["recovered"] == 0.5 and out["baseline"]["eligible"] == 0.0
    assert out["queries"] == 2 and out["instruments"] == {"horizon-ria": 2}
    assert "| builder | 0.500 | 1.000 | 1.000 | 0.800 |" in markdown(out)


# ---- rules as constraints, service firms, reasons (issue 17) ---------------------------------------------
def _pool(*rows: tuple[int, str, str, bool, float, bool]) -> Pool:
    """A pool of (id, kind, country, sme, relevance, service) with one aspect everybody covers a little."""
    return Pool(["an aspect"], {i: Candidate(Partner(k, c, s, id=i, service=sv), rel, np.array([rel]))
                                for i, k, c, s, rel, sv in rows})


EUROSTARS = load_instrument("eurostars")


def test_the_solver_meets_eurostars_where_relevance_alone_would_not() -> None:
    """Two R&D SMEs are needed for half the cost of three; the project office is the most relevant SME,
    but it is a service firm: never the lead, never counted, left out unless support is asked for."""
    pool = _pool((1, "university", "NL", False, 1.0, False), (2, "hospital", "DE", False, 0.9, False),
                 (3, "sme", "NL", True, 0.2, False), (4, "sme", "BE", True, 0.1, False),
                 (5, "sme", "DE", True, 0.95, True))
    chosen = select_team(pool, EUROSTARS, 3)
    assert chosen.team == [3, 1, 4] and chosen.method == "solver" and chosen.unmet == []
    assert is_eligible(check_team(EUROSTARS, [pool.candidates[i].partner for i in chosen.team]))
    assert forced_reasons(pool, EUROSTARS, chosen.team) == {4: "added to reach 50% R&D-performing SME cost"}
    greedy = choose_team(pool, EUROSTARS, 3, exclude=[5])
    assert not is_eligible(check_team(EUROSTARS, [pool.candidates[i].partner for i in greedy]))
    helped = select_team(pool, EUROSTARS, 4, support=True)
    assert 5 in helped.team and helped.team[0] != 5 and is_eligible(
        check_team(EUROSTARS, [pool.candidates[i].partner for i in helped.team]))
    assert forced_reasons(pool, EUROSTARS, helped.team)[5].startswith("project support")


def test_roles_are_filled_first_and_the_rules_still_win() -> None:
    """A role's only candidate gets in although relevance alone prefers others; when the rules need the
    place, the role stays empty rather than the team ineligible."""
    pool = _pool((1, "university", "NL", False, 1.0, False), (2, "university", "DE", False, 0.9, False),
                 (3, "university", "BE", False, 0.8, False), (4, "hospital", "FR", False, 0.1, False),
                 (5, "sme", "NL", True, 0.3, False), (6, "sme", "BE", True, 0.2, False))
    assert 4 not in select_team(pool, RIA, 3).team
    pool.roles = [CallRole(["hospital"], ["hospital"], "a hospital to run the pilot", {4: 1.0})]
    assert 4 in select_team(pool, RIA, 3).team
    pool.roles = [CallRole(["hospital"], ["hospital"], "a hospital to run the pilot", {4: 1.0}),
                  CallRole(["university"], ["university"], "a lab to test it", {3: 1.0, 2: 0.5})]
    team = select_team(pool, RIA, 3).team
    assert set(team) == {1, 3, 4} and assign_roles(pool.roles, team) == [4, 3]  # the role's best, not the most relevant
    chosen = select_team(pool, EUROSTARS, 3)  # lead SME + 2 of 3 for the SME cost: one place for a role
    assert is_eligible(check_team(EUROSTARS, [pool.candidates[i].partner for i in chosen.team]))
    assert sum(r is not None for r in assign_roles(pool.roles, chosen.team)) == 1


def test_call_roles_and_their_assignment() -> None:
    roles = call_roles("Better sleep at home. We look for a sensor company, and a lab to test it in older adults.")
    assert [(r.name, r.kinds) for r in roles] == [("company", ["startup", "sme", "large_company"]),
                                                   ("university or research institute",
                                                    ["university", "research_institute"])]
    assert call_roles("Wearable ECG patch for heart failure at home.") == []  # names no partner
    roles[0].candidates, roles[1].candidates = {1: 0.9, 2: 0.8}, {1: 0.7}
    assert assign_roles(roles, [1, 2]) == [2, 1]  # one role per member: the best total (0.8 + 0.7)
    assert assign_roles(roles, [1, 2], service=[2]) == [1, None]  # a service firm fills no role
    assert roles[1].reason() == "fills the role: university or research institute — a lab to test it in older adults"


def test_when_no_team_can_meet_a_rule_it_says_which_and_why() -> None:
    pool = _pool((1, "university", "NL", False, 1.0, False), (2, "sme", "NL", True, 0.5, False),
                 (3, "sme", "NL", True, 0.4, True))
    chosen = select_team(pool, EUROSTARS, 3)
    unmet = dict(chosen.unmet)
    assert set(unmet) == {"two-countries", "balanced-countries"}
    assert unmet["two-countries"] == ("the organisations that match the call come from 1 different Eurostars "
                                      "participating country (NL); 2 are needed")
    mit = select_team(_pool((1, "university", "NL", False, 1.0, False), (2, "sme", "NL", True, 0.5, False),
                            (3, "sme", "NL", True, 0.9, True)), load_instrument("mit-rd"), 2)
    assert dict(mit.unmet)["two-smes"] == ("only 1 R&D-performing SME established in the Netherlands among the 2 "
                                           "organisations that match the call; 2 are needed")
    assert mit.team[0] == 2  # still led by the R&D SME, not by the consultancy


def test_service_firms_are_recognised_by_name_and_breadth() -> None:
    assert name_cue("EUROPEAN RESEARCH AND PROJECT OFFICE GMBH") == "strong"
    assert name_cue("Acme Innovation Consulting SA") == name_cue("Grant Partners BV") == "strong"
    assert name_cue("Research and Innovation Services Ltd") == "weak" and name_cue("Twente Sensors BV") == ""
    assert name_cue("Fundacion Tecnalia Research & Innovation") == ""  # an R&D institute, not a service firm
    same = np.tile(np.array([[1.0, 0.0]]), (6, 1))
    spread = np.eye(6)
    assert evidence_topics(same, 0.0) == pytest.approx(1.0) and evidence_topics(spread, 0.0) == pytest.approx(6.0)
    # hand-computed: 4 unit vectors, pairwise cosine 0.5 everywhere, baseline 0.2: rho = 0.375, 4 / 2.125
    half = np.array([[1, 0, 0, 0], [0.5, 0.866025, 0, 0], [0.5, 0.288675, 0.816497, 0],
                     [0.5, 0.288675, 0.204124, 0.790569]])
    assert evidence_topics(half, 0.2) == pytest.approx(4 / 2.125, rel=1e-4)
    assert is_service_firm("Grant Consulting BV", "sme", 1.0, 1)
    assert is_service_firm("Health Services BV", "sme", 4.0, 8) and not is_service_firm("Health Services BV", "sme",
                                                                                          1.5, 8)
    assert not is_service_firm("Grant Consulting BV", "university", 9.0, 20)  # universities never are
    assert not is_service_firm("Twente Sensors BV", "sme", 9.0, 20)  # breadth alone is not enough
    assert name_cue("OBOE IPR AB") == "strong" and name_cue("HIPRA SA") == ""  # IP-rights services


def test_a_small_firm_without_a_name_cue_is_a_service_firm_only_when_broad_many_times_and_without_a_thread(
        ) -> None:
    many = MANY_CONSORTIA
    assert is_service_firm("Acme AG", "sme", 4.5, many, thread=0.3)
    assert not is_service_firm("Acme AG", "sme", 4.5, many, thread=0.6)  # a recurring rare term: an R&D supplier
    assert not is_service_firm("Acme AG", "sme", 4.5, many - 1, thread=0.3)  # too few consortia to tell
    assert not is_service_firm("Acme AG", "sme", 3.5, many, thread=0.3)  # not broad enough
    assert not is_service_firm("Acme Pharma NV", "large_company", 6.0, 20, thread=0.1)  # a large firm is broad anyway
    assert is_service_firm("Acme GmbH", "other", 4.5, many, sme=True, thread=0.3)  # small by the SME flag
    assert not is_service_firm("Acme Institute", "research_institute", 6.0, 20, sme=True, thread=0.1)


def test_evidence_thread_is_hand_computed() -> None:
    docs = [{"photon", "cancer", "radar"}, {"photon", "telecom"}, {"photon", "cancer"}, {"lidar"}]
    assert evidence_thread(docs, {"cancer": 0.01}) == 0.75  # "photon" in 3 of 4
    assert evidence_thread(docs, {"photon": 0.5, "cancer": 0.01}) == 0.5  # "photon" is common: "cancer", 2 of 4
    assert evidence_thread(docs, dict.fromkeys(["photon", "cancer", "radar", "telecom", "lidar"], 1.0)) == 0.0
    assert evidence_thread([], {}) == 0.0
    index = LexicalIndex().fit([1, 2, 3, 4], ["photonic chips", "photonic radar", "heart failure", "radar"])
    assert index.document_frequency(["photon", "radar", "heart", "unseen"]).tolist() == [0.5, 0.5, 0.25, 0.0]


@pytest.fixture(scope="module")
def demo_matcher(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Matcher]:
    """The demo as `matcher demo` loads it (real organisations, shipped vectors, the 12 challenges)."""
    m = open_demo(tmp_path_factory.mktemp("demo-consortium"))
    yield m
    m.store.close()


def demo_service_firms(m: Matcher) -> set[int]:
    """The service firms of the whole catalogue, by the recogniser (names, breadth, thread)."""
    cat = catalogue_of(m)
    ids = [int(i) for i in cat.org_ids]
    return {i for i, flag in zip(ids, find_service_firms(m, ids, cat.org_index(ids))) if flag}


def test_breadth_marks_few_small_firms_of_the_demo_and_none_with_a_thread(demo_matcher: Matcher) -> None:
    """On the real demo catalogue: breadth marks firms no name gives away (so the signal is used), but
    only a few of the hundreds of small firms; a firm marked by breadth alone has no recurring rare term."""
    cat = catalogue_of(demo_matcher)
    service = demo_service_firms(demo_matcher)
    orgs = demo_matcher.store.get_organisations(sorted(service))
    by_breadth = [i for i in service if not name_cue(orgs[i].name)]
    small = sum(str(k) in ("startup", "sme") for k in cat.kinds)
    assert 1 <= len(by_breadth) <= 0.01 * small, [orgs[i].name for i in by_breadth]
    assert all(orgs[i].kind in ("startup", "sme") or orgs[i].sme for i in by_breadth)
    assert all(len(demo_matcher.store.evidence_of(i)) >= MANY_CONSORTIA for i in by_breadth)
    assert len(service) <= 0.05 * sum(str(k) in ("startup", "sme", "large_company", "other") for k in cat.kinds)


@pytest.mark.parametrize("instrument", ["horizon-ria", "horizon-ia", "horizon-csa", "eic-pathfinder", "eurostars",
                                        "mit-rd", "care-pilot"])
def test_every_demo_challenge_gets_an_eligible_team_led_by_an_rd_performer(demo_matcher: Matcher,
                                                                          instrument: str) -> None:
    """Issue 17: on the 12 demo challenges every instrument gives an eligible team, the lead is never a
    service firm, and every member a rule forced in says which rule. Issue 12: the roles each challenge
    names are filled, each by a member of the role's kind groups that its own ranking found."""
    ins = load_instrument(instrument)
    purposes = {purpose(r) for r in ins.rules}
    challenges = demo_matcher.store.list_challenges()
    assert len(challenges) == 12
    service = demo_service_firms(demo_matcher)
    unfilled: list[str] = []
    named = 0
    for ch in challenges:
        c = build_consortium(demo_matcher, ch.query_text, ins, visible=PUBLIC)
        named += bool(c.roles)
        assert c.eligible, (ch.title, [r.message for r in c.rules if not r.passed])
        lead = c.members[0]
        assert not lead.service and lead.organisation.id not in service, (ch.title, lead.organisation.name)
        assert not any(m.service or m.organisation.id in service for m in c.members)  # no support: no service firm
        for m in c.members:  # each part of a reason: the role it fills, or the purpose of a rule
            assert all(part in purposes or part.startswith("fills the role: ") for part in m.reason.split("; ")
                       if m.reason), m.reason
        if instrument in ("eurostars", "mit-rd"):  # an enterprise: not a small institute with an SME flag
            assert lead.organisation.sme or lead.organisation.kind in ("startup", "sme")
            assert lead.organisation.kind not in ("university", "research_institute", "hospital", "care_institution",
                                                  "public_body"), (ch.title, lead.organisation.name)
        unfilled += _check_roles(c, ch.title)
    # issue 12: the roles first. Only the SME instruments, whose enterprise SMEs take two of three places
    # (MIT: two Dutch SMEs; Eurostars: half the cost), may leave a role empty, and say why. Measured on the
    # demo: Eurostars 3 of 26 roles, MIT 3 of 26 (6 until Dutch needs were also read in English, 2026-12-03)
    assert len(unfilled) <= {"mit-rd": 3, "eurostars": 3}.get(instrument, 0), unfilled
    assert named == 12  # every demo challenge names the partners it looks for


def _check_roles(c: Consortium, title: str) -> list[str]:
    """Each role a member fills is filled by one of its candidates of its kinds, whose reason names the role;
    returns the roles left empty (each with its reason)."""
    members = {m.organisation.id: m for m in c.members}
    unfilled = []
    for role, by in zip(c.roles, c.filled_by):
        if by is None:
            why = role.to_dict(None, len(c.members))["why"]
            assert why, role
            unfilled.append(f"{title}: {role.name}: {why}")
            continue
        m = members[by]
        assert m.organisation.kind in role.kinds and by in role.candidates and not m.service
        assert m.fills == role.name and m.reason.startswith(f"fills the role: {role.name} — ")
    return unfilled


def test_support_adds_one_service_firm_that_never_leads_on_the_demo(demo_matcher: Matcher) -> None:
    """Asked for, project support is one service firm, not the lead, not counted for the SME rules."""
    ch = demo_matcher.store.list_challenges()[0]
    service = demo_service_firms(demo_matcher)
    for instrument in ("eurostars", "horizon-ria"):
        c = build_consortium(demo_matcher, ch.query_text, load_instrument(instrument), visible=PUBLIC, support=True)
        helpers = [m for m in c.members if m.service]
        assert c.eligible and len(helpers) == 1 and helpers[0] is not c.members[0], [m.role for m in c.members]
        assert helpers[0].organisation.id in service and helpers[0].role.startswith("project support")
        assert helpers[0].reason.startswith("project support")


def test_per_instrument_summary_is_hand_computed() -> None:
    """Eligibility counts only where a team exists; on topic means at least the real members' median cosine."""
    from matcher.evaluation.consortium_rules import summarise_instruments

    def run(exists: float, b_ok: float, k_ok: float, b_cos: list[float], k_cos: list[float]) -> dict:  # type: ignore[type-arg]
        return {"exists": exists, "builder": {"eligible": b_ok, "recovered": 0.5, "cos": b_cos},
                "baseline": {"eligible": k_ok, "recovered": 0.0, "cos": k_cos}}

    rows = [{"gold_cos": [0.4, 0.6], "eurostars": run(1.0, 1.0, 0.0, [0.5, 0.7], [0.1, 0.2])},
            {"gold_cos": [0.5, -1.0], "eurostars": run(0.0, 0.0, 0.0, [0.3, 0.5], [0.6, 0.5])}]
    out = summarise_instruments(rows)["eurostars"]
    assert out["on_topic_threshold"] == 0.5 and out["exists"] == 0.5
    assert out["builder_eligible"] == 1.0 and out["baseline_eligible"] == 0.0  # the second run has no team at all
    assert out["builder_on_topic"] == 0.75 and out["baseline_on_topic"] == 0.5
    assert out["builder_recovered"] == 0.5 and out["baseline_recovered"] == 0.0
    assert summarise_instruments([{"gold_cos": []}]) == {}
