"""POST /v1/consortium and /v1/consortium/swap: shape, visibility, errors as 4xx."""

from __future__ import annotations

import re

from markupsafe import escape

from tests.api.conftest import World

CALL = ("Wearable ECG patch for remote monitoring of heart failure patients at home. "
        "Clinical validation in hospitals with cardiology patients. Machine learning to detect arrhythmia.")


def _body(world: World, **extra: object) -> dict[str, object]:
    return {"text": CALL, "instrument": "horizon-ria", "fixed": [world.org_b], "size": 4, **extra}


def test_build_shape_rules_and_fixed_lead(world: World) -> None:
    r = world.client.post("/v1/consortium", json=_body(world), headers=world.h("member_b"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) >= {"members", "uncovered", "rules", "eligible"}
    assert [m["organisation"]["id"] for m in body["members"]][0] == world.org_b and len(body["members"]) == 4
    assert {"id", "name", "kind", "country"} <= set(body["members"][0]["organisation"])
    assert all({"rule", "passed", "message"} <= set(x) for x in body["rules"])
    assert body["eligible"] is True
    assert {x["rule"] for x in body["rules"]} == {"lead", "three-countries", "member-state"}
    assert body["unmet"] == [] and body["method"] == "solver"
    assert all(isinstance(m["reason"], str) and m["service_firm"] is False for m in body["members"])
    assert world.hidden_org not in [m["organisation"]["id"] for m in body["members"]]
    assert "contact" not in r.text and "secret-contact" not in r.text


def test_swap_replaces_one_member(world: World) -> None:
    c, h = world.client, world.h("staff")
    first = c.post("/v1/consortium", json=_body(world), headers=h).json()
    team = [m["organisation"]["id"] for m in first["members"]]
    r = c.post("/v1/consortium/swap", json=_body(world, members=team, remove=team[2]), headers=h)
    assert r.status_code == 200, r.text
    after = [m["organisation"]["id"] for m in r.json()["members"]]
    assert team[2] not in after and len(after) == 4 and after[:2] == team[:2]
    r = c.post("/v1/consortium/swap", json=_body(world, members=team, remove=world.org_b), headers=h)
    assert r.status_code == 422 and "cannot be swapped" in r.json()["detail"]


def test_hidden_fixed_members_look_missing_and_bad_input_is_4xx(world: World) -> None:
    c, h = world.client, world.h("viewer")
    hidden = c.post("/v1/consortium", json=_body(world, fixed=[world.hidden_org]), headers=h)
    missing = c.post("/v1/consortium", json=_body(world, fixed=[999999]), headers=h)
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json()["detail"] == missing.json()["detail"].replace("999999", str(world.hidden_org))
    assert "Stealth" not in hidden.text
    r = c.post("/v1/consortium", json=_body(world, instrument="horizon-xyz"), headers=h)
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "instrument"  # not in the schema's enum
    assert "'horizon-ria'" in r.json()["detail"][0]["reason"]
    r = c.post("/v1/consortium", json=_body(world, size=2), headers=h)
    assert r.status_code == 422 and r.json()["detail"] == [
        {"field": "size", "reason": "Horizon Europe Research and Innovation Action (RIA) needs at least 3 partners"}]
    for bad in ({"text": "  ", "instrument": "horizon-ria"}, {"instrument": "horizon-ria"},
                _body(world, size=0), _body(world, colour="red")):
        assert c.post("/v1/consortium", json=bad, headers=h).status_code == 422, bad
    assert c.post("/v1/consortium", json=_body(world)).status_code == 401


def test_instruments_are_listed(world: World) -> None:
    r = world.client.get("/v1/consortium/instruments", headers=world.h("viewer"))
    assert r.status_code == 200 and r.json()["count"] == 7
    assert all(i["source"]["document"] for i in r.json()["data"])


def test_eurostars_meets_its_rules_and_the_page_shows_why_each_member_is_in(world: World) -> None:
    """The SME instrument: an eligible team led by an SME; the rule that forced a member in is in the
    JSON and in the consortium page's "Why in the team" column."""
    c, h = world.client, world.h("staff")
    body = {"text": CALL, "instrument": "eurostars"}
    r = c.post("/v1/consortium", json=body, headers=h)
    assert r.status_code == 200, r.text
    team = r.json()
    assert team["eligible"] is True, team["rules"]
    lead = team["members"][0]
    assert lead["organisation"]["sme"] or lead["organisation"]["kind"] in ("startup", "sme")
    assert not lead["service_firm"]
    reasons = [m["reason"] for m in team["members"] if m["reason"]]
    assert reasons and all(x.startswith(("added to", "leads:")) for x in reasons), team["members"]
    assert c.post("/signin", data={"api_key": world.keys["staff"], "next": "/consortium"}).status_code in (200, 303)
    csrf = re.search(r'name="csrf" value="([^"]+)"', c.get("/consortium").text)
    assert csrf, "the consortium form carries a CSRF token"
    page = c.post("/consortium", data={**body, "csrf": csrf.group(1)})
    assert page.status_code == 200 and "Why in the team" in page.text
    for reason in reasons:
        assert str(escape(reason)) in page.text


def test_support_is_off_by_default_and_adds_one_service_firm_when_asked(world: World) -> None:
    c, h = world.client, world.h("staff")
    plain = c.post("/v1/consortium", json=_body(world), headers=h).json()
    assert not any(m["service_firm"] for m in plain["members"])
    r = c.post("/v1/consortium", json=_body(world, support=True), headers=h)
    assert r.status_code == 200, r.text
    members = r.json()["members"]
    assert [m["service_firm"] for m in members].count(True) == 1 and not members[0]["service_firm"], members
    helper = next(m for m in members if m["service_firm"])
    assert helper["role"].startswith("project support") and helper["reason"].startswith("project support")
    assert c.post("/v1/consortium", json=_body(world, support="yes"), headers=h).status_code == 422


def test_the_roles_the_call_names_are_filled_and_shown(world: World) -> None:
    """Issue 12: a call that names partners gets them first; the JSON says who fills which role (new keys
    only), and the page lists the roles."""
    c, h = world.client, world.h("staff")
    text = (f"{CALL} We look for a sensor company that builds the patch, and a hospital for a clinical pilot "
            "with heart failure patients.")
    r = c.post("/v1/consortium", json={"text": text, "instrument": "horizon-ria"}, headers=h)
    assert r.status_code == 200, r.text
    body = r.json()
    assert [x["name"] for x in body["roles"]] == ["company", "hospital"]
    members = {m["organisation"]["id"]: m for m in body["members"]}
    for role in body["roles"]:
        m = members[role["filled_by"]]
        assert m["fills_role"] == role["name"] and m["organisation"]["kind"] in role["kinds"]
        assert m["reason"].startswith(f"fills the role: {role['name']} — ") and role["why"] == ""
    assert all(m["fills_role"] is None for m in body["members"] if m["organisation"]["id"] not in
               {x["filled_by"] for x in body["roles"]})
    assert c.post("/signin", data={"api_key": world.keys["staff"], "next": "/consortium"}).status_code in (200, 303)
    csrf = re.search(r'name="csrf" value="([^"]+)"', c.get("/consortium").text)
    assert csrf
    page = c.post("/consortium", data={"text": text, "instrument": "horizon-ria", "csrf": csrf.group(1)})
    assert page.status_code == 200 and "Roles the call names" in page.text
    assert str(escape(members[body["roles"][0]["filled_by"]]["organisation"]["name"])) in page.text
