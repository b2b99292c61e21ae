"""Roles a person writes on a challenge: stored, versioned with it, and what its suggestions answer."""

from __future__ import annotations

from tests.api.conftest import World

TEXT = {"title": "Heart failure at home", "description": "We want to monitor heart failure patients at home."}


def test_edited_roles_are_stored_versioned_and_drive_the_suggestions(world: World) -> None:
    c = world.client
    roles = [{"name": "hospital", "need": "a cardiology department to pilot home monitoring"},
             {"name": "company", "kinds": ["startup", "sme"], "need": "a wearable ECG patch"}]
    made = c.post("/v1/challenges", json={**TEXT, "posed_by": world.org_a, "roles": roles}, headers=world.h("staff"))
    assert made.status_code == 201, made.text
    cid, body = made.json()["id"], made.json()
    assert body["version"] == 1
    assert [(r["name"], r["need"], r["edited"]) for r in body["roles"]] == [
        ("hospital", roles[0]["need"], True), ("company", roles[1]["need"], True)]
    assert body["roles"][0]["kinds"] == ["hospital", "care_institution"]  # the group's kinds when none given
    assert body["roles"][1]["kinds"] == ["startup", "sme"]

    got = c.get(f"/v1/challenges/{cid}/suggestions", headers=world.h("staff")).json()
    by_name = {r["name"]: r for r in got["roles"]}
    assert set(by_name) == {"hospital", "company"} and all(r["edited"] for r in got["roles"])
    assert by_name["company"]["data"], "a startup in the catalogue makes wearable ECG patches"
    assert {s["organisation"]["kind"] for s in by_name["company"]["data"]} <= {"startup", "sme"}
    assert {s["organisation"]["kind"] for s in by_name["hospital"]["data"]} <= {"hospital", "care_institution"}
    assert world.org_a not in {s["organisation"]["id"] for s in got["data"]}  # the poser is never suggested

    # the poser's member edits them; an empty list goes back to the roles derived from the text
    edited = c.patch(f"/v1/challenges/{cid}", json={"roles": [roles[1]]}, headers=world.h("member_a"))
    assert edited.status_code == 200, edited.text
    assert edited.json()["version"] == 2 and [r["name"] for r in edited.json()["roles"]] == ["company"]
    reset = c.patch(f"/v1/challenges/{cid}", json={"roles": []}, headers=world.h("staff")).json()
    assert reset["version"] == 3 and not any(r["edited"] for r in reset["roles"])

    versions = c.get(f"/v1/challenges/{cid}/versions", headers=world.h("staff")).json()
    assert [v["version"] for v in versions["data"]] == [1, 2, 3]
    assert [len(v["roles"] or []) for v in versions["data"]] == [2, 1, 0]
    assert versions["data"][0]["roles"][1]["kinds"] == ["startup", "sme"]


def test_roles_are_checked_and_only_editors_change_them(world: World) -> None:
    c = world.client
    cid = world.challenges["public"]
    wrong_kind = c.patch(f"/v1/challenges/{cid}", json={"roles": [{"name": "hospital", "kinds": ["sme"],
                                                                    "need": "a clinic"}]}, headers=world.h("staff"))
    assert wrong_kind.status_code == 422
    assert wrong_kind.json()["detail"][0]["field"].endswith("kinds")
    unknown = c.patch(f"/v1/challenges/{cid}", json={"roles": [{"name": "bakery", "need": "bread"}]},
                      headers=world.h("staff"))
    assert unknown.status_code == 422
    blank = c.patch(f"/v1/challenges/{cid}", json={"roles": [{"name": "company", "need": "   "}]},
                    headers=world.h("staff"))
    assert blank.status_code == 422
    before = c.get(f"/v1/challenges/{cid}", headers=world.h("staff")).json()
    other = c.patch(f"/v1/challenges/{cid}", json={"roles": [{"name": "company", "need": "a pump"}]},
                    headers=world.h("member_b"))
    assert other.status_code == 403
    assert c.get(f"/v1/challenges/{cid}", headers=world.h("staff")).json() == before  # nothing changed


def test_versions_are_as_confidential_as_the_challenge(world: World) -> None:
    cid = world.challenges["owner"]
    assert world.client.get(f"/v1/challenges/{cid}/versions", headers=world.h("member_b")).status_code == 404
    assert world.client.get(f"/v1/challenges/{cid}/versions", headers=world.h("member_a")).status_code == 200


def test_search_and_partners_answer_per_role_when_asked(world: World) -> None:
    c = world.client
    text = "We look for a company with a wearable ECG patch, and a hospital to pilot heart failure monitoring."
    plain = c.post("/v1/search", json={"text": text}, headers=world.h("viewer")).json()
    assert plain["roles"] is None
    asked = c.post("/v1/search", json={"text": text, "roles": True}, headers=world.h("viewer")).json()
    assert [r["name"] for r in asked["roles"]] == ["company", "hospital"]
    assert all(s["explanation"]["role"] == r["name"] for r in asked["roles"] for s in r["data"])
    assert asked["count"] == len(asked["data"]) <= 10

    got = c.get(f"/v1/organisations/{world.org_b}/partners?roles=true&k=5", headers=world.h("viewer")).json()
    assert [r["name"] for r in got["roles"]] == ["hospital", "university", "research_institute"]  # a startup's
    kinds = {s["organisation"]["kind"] for r in got["roles"] for s in r["data"]}
    assert kinds and not kinds & {"startup", "sme", "large_company"}
    assert c.get(f"/v1/organisations/{world.org_b}/partners", headers=world.h("viewer")).json()["roles"] is None
