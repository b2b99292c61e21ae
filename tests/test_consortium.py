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
    Candidate,
    Pool,
    Weights,
    build_consortium,
    choose_team,
    responsibilities,
    split_aspects,
    swap_member,
)
from matcher.domain import Filters, Organisation
from matcher.engine import Matcher
from matcher.errors import InvalidInput, NotFound
from matcher.ingest.cordis import CordisData
from matcher.retrieval.embed import Encoder
from matcher.rules import Partner, load_instrument
from matcher.storage.store import Store
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
    """The weights matter: relevance alone prefers the second ECG-patch startup; coverage and diversity do not."""
    m, ids = hand
    plain = build_consortium(m, CALL, RIA, fixed=[ids["Twente Sensors"]], size=4, visible=PUBLIC,
                             weights=Weights(coverage=0, kind=0, country=0, rules=0)).to_dict()
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
