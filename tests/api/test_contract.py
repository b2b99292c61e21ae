"""The server is exactly as strict as its OpenAPI document (issue 19), checked rule by rule.

The schemathesis run (test_schemathesis.py) finds such mismatches by chance; these tests pin each
rule down: the schema states it, a request that breaks it is refused, one that keeps it is accepted.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from api.contract import RULES_NOT_IN_SCHEMA
from matcher.domain import SUMMARY_FIELDS
from matcher.rules import INSTRUMENT_IDS, load_instrument
from tests.api.conftest import World
from tests.conftest import ROOT

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


@pytest.fixture(scope="module")
def spec(world: World) -> dict[str, Any]:
    return world.client.get("/openapi.json").json()  # type: ignore[no-any-return]


def _component(spec: dict[str, Any], name: str) -> dict[str, Any]:
    return spec["components"]["schemas"][name]  # type: ignore[no-any-return]


def _rule_fields(spec: dict[str, Any], name: str, status: int, world: World, path: str, body: dict[str, Any],
                 method: str = "post") -> list[str]:
    r = world.client.request(method, path, json=body, headers=world.h("staff"))
    assert r.status_code == status, r.text
    return [e["field"] for e in r.json()["detail"]] if status == 422 else []


def test_instruments_are_an_enum_from_the_rules_files(world: World, spec: dict[str, Any]) -> None:
    for name in ("ConsortiumIn", "SwapIn"):
        assert _component(spec, name)["properties"]["instrument"]["enum"] == list(INSTRUMENT_IDS)
    r = world.client.post("/v1/consortium", headers=world.h("staff"), json={"text": "a call", "instrument": "0"})
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "instrument"


def test_size_limits_of_each_instrument_are_in_the_schema_and_enforced(world: World, spec: dict[str, Any]) -> None:
    [rule] = _component(spec, "ConsortiumIn")["allOf"]
    limits = {b["properties"]["instrument"]["const"]: b["properties"]["size"] for b in rule["anyOf"]}
    assert set(limits) == set(INSTRUMENT_IDS) and limits["eurostars"]["minimum"] == 2
    body = {"text": "Wearable ECG monitoring piloted at home", "instrument": "horizon-ria", "size": 2}
    assert _rule_fields(spec, "", 422, world, "/v1/consortium", body) == ["size"]


def test_booleans_and_integers_are_strict(world: World) -> None:
    c, h = world.client, world.h("staff")
    for bad in ({"sme": 0}, {"sme": "true"}, {"trl_min": "3"}, {"trl_min": True}):
        r = c.patch(f"/v1/organisations/{world.org_b}", headers=h, json=bad)
        assert r.status_code == 422, (bad, r.text)
    assert c.patch(f"/v1/organisations/{world.org_b}", headers=h, json={"trl_min": 3.0}).json()["trl_min"] == 3
    for filters in ({"sme": 0}, {"exclude_ids": ["1"]}):
        assert c.post("/v1/search", headers=h, json={"text": "ECG", "filters": filters}).status_code == 422
    assert c.post("/v1/search", headers=h, json={"text": "ECG", "k": 2.0}).json()["count"] == 2
    assert c.post("/v1/search", headers=h, json={"text": "ECG", "k": "2"}).status_code == 422


def test_trl_order_is_stated_and_enforced(world: World, spec: dict[str, Any]) -> None:
    for name in ("OrganisationCreate", "OrganisationUpdate"):
        [rule] = _component(spec, name)["allOf"]
        assert len(rule["anyOf"]) == 9 and "trl_min <= trl_max" in rule["description"]
    body = {"name": "Reversed TRL BV", "kind": "sme", "trl_min": 7, "trl_max": 4}
    assert _rule_fields(spec, "", 422, world, "/v1/organisations", body) == ["trl_min"]
    oid = world.client.post("/v1/organisations", headers=world.h("staff"),
                            json={**body, "trl_max": 8}).json()["id"]
    r = world.client.patch(f"/v1/organisations/{oid}", headers=world.h("staff"), json={"trl_max": 5})
    assert r.status_code == 409 and "trl_min" in r.json()["detail"]  # with the stored trl_min 7
    assert world.client.patch(f"/v1/organisations/{oid}", headers=world.h("staff"),
                              json={"trl_min": 2, "trl_max": 5}).json()["trl_max"] == 5


def test_owner_challenge_needs_its_owner(world: World, spec: dict[str, Any]) -> None:
    [rule] = _component(spec, "ChallengeCreate")["allOf"]
    assert "posed_by" in rule["description"]
    body = {"title": "Secret pilot", "description": "Home monitoring.", "confidentiality": "owner"}
    assert _rule_fields(spec, "", 422, world, "/v1/challenges", body) == ["posed_by"]
    r = world.client.post("/v1/challenges", headers=world.h("member_a"), json={**body, "posed_by": world.org_a})
    assert r.status_code == 201 and r.json()["posed_by"] == world.org_a
    public = world.client.post("/v1/challenges", headers=world.h("staff"), json={**body, "confidentiality": "public"})
    r = world.client.patch(f"/v1/challenges/{public.json()['id']}", headers=world.h("staff"),
                           json={"confidentiality": "owner"})
    assert r.status_code == 409, r.text


def test_member_key_needs_its_organisation(world: World, spec: dict[str, Any]) -> None:
    [rule] = _component(spec, "KeyCreate")["allOf"]
    assert "organisation_id" in rule["description"]
    assert _component(spec, "KeyCreate")["properties"]["expires_days"]["anyOf"][0] == {
        "type": "integer", "minimum": 1, "maximum": 3650}
    r = world.client.post("/v1/keys", headers=world.h("admin"), json={"role": "member"})
    assert r.status_code == 422 and [e["field"] for e in r.json()["detail"]] == ["organisation_id"]
    r = world.client.post("/v1/keys", headers=world.h("admin"), json={"role": "member", "organisation_id": world.org_a})
    assert r.status_code == 201 and r.json()["organisation_id"] == world.org_a


def test_allow_lists_every_method_of_every_path(world: World, spec: dict[str, Any]) -> None:
    assert len(spec["paths"]) >= 15
    for path, item in spec["paths"].items():
        declared = {m.upper() for m in item if m in HTTP_METHODS}
        concrete = re.sub(r"\{[a-z_]+\}", "1", path)
        r = world.client.options(concrete, headers=world.h("staff"))
        assert r.status_code == 405, path
        allowed = {m.strip() for m in r.headers["allow"].split(",")}
        assert allowed - {"HEAD"} == declared, (path, r.headers["allow"])


def test_import_path_is_not_an_organisation_id(world: World) -> None:
    for method in ("PATCH", "GET", "DELETE"):
        r = world.client.request(method, "/v1/organisations/import", headers=world.h("staff"))
        assert r.status_code == 405 and r.headers["allow"] == "POST", (method, r.status_code)


def test_rules_the_schema_cannot_state_are_documented(world: World, spec: dict[str, Any]) -> None:
    for (method, path), rules in RULES_NOT_IN_SCHEMA.items():
        answer = spec["paths"][path][method.lower()]["responses"]["422"]
        examples = answer["content"]["application/json"]["examples"].values()
        for rule in rules:
            assert rule.rule in answer["description"]
            assert any(rule.matches(e["value"]["detail"]) for e in examples), rule  # its example is its words
    r = world.client.post("/v1/organisations/import", headers=world.h("staff"),
                          files={"file": ("members", b"name,kind\nX,sme\n")})
    assert r.status_code == 422
    assert any(rule.matches(r.json()["detail"]) for rule in RULES_NOT_IN_SCHEMA["POST", "/v1/organisations/import"])


def test_organisation_summary_is_one_shape(spec: dict[str, Any]) -> None:
    assert tuple(_component(spec, "SuggestionOrganisation")["properties"]) == SUMMARY_FIELDS


def test_longest_challenge_still_gets_suggestions(world: World) -> None:
    c, h = world.client, world.h("staff")
    body = {"title": "T" * 300, "description": "heart failure monitoring at home " * 606}  # 19,998 characters
    cid = c.post("/v1/challenges", headers=h, json=body).json()["id"]
    assert c.get(f"/v1/challenges/{cid}/suggestions", headers=h).status_code == 200


def test_bounds_are_json_schema_keywords(spec: dict[str, Any]) -> None:
    """pydantic writes a bound it cannot place as "ge"/"le", which no client or validator reads."""
    def keys(node: object) -> set[str]:
        if isinstance(node, dict):
            return set(node) | {k for v in node.values() for k in keys(v)}
        return {k for v in node for k in keys(v)} if isinstance(node, list) else set()

    found = keys(spec["components"]["schemas"])
    assert not found & {"ge", "le", "gt", "lt"} and "minimum" in found


def test_api_doc_lists_the_instruments_and_the_rules_the_schema_cannot_state() -> None:
    doc = (ROOT / "docs" / "API.md").read_text(encoding="utf-8")
    for iid in INSTRUMENT_IDS:
        assert f"| `{iid}` | {load_instrument(iid).name} |" in doc, iid
    for (method, path), rules in RULES_NOT_IN_SCHEMA.items():
        for rule in rules:
            assert f"| `{method} {path}` | {rule.rule} |" in doc, (path, rule.rule)
