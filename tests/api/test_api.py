"""Every resource over HTTP: shapes, roles, limits, errors."""

from __future__ import annotations

import json

from tests.api.conftest import World


def test_health_ready_metrics(world: World) -> None:
    c = world.client
    assert c.get("/health").json() == {"status": "ok"}
    ready = c.get("/ready").json()
    assert ready["status"] == "ready" and ready["vectors"] > 0
    c.post("/v1/search", json={"text": "cancer"}, headers=world.h("viewer"))
    text = c.get("/metrics").text
    assert 'matcher_requests_total{method="POST",route="/v1/search",status="200"}' in text
    assert "matcher_index_vectors" in text
    assert "matcher_embed_remaining 0" in text and "matcher_embed_embedded" in text  # everything embedded at start


def test_search_shape_and_contract(world: World) -> None:
    r = world.client.post("/v1/search", json={"text": "wearable ECG remote cardiology monitoring", "k": 5,
                                              "filters": {"countries": ["NL"]}}, headers=world.h("staff"))
    assert r.status_code == 200
    body = r.json()
    assert body["count"] == len(body["data"]) == 5
    s = body["data"][0]
    assert set(s) >= {"organisation", "score", "components", "explanation"}
    assert {"id", "name"} <= set(s["organisation"]) and s["organisation"]["country"] == "NL"
    assert "contact" not in json.dumps(body)


def test_keys_are_required_and_checked(world: World) -> None:
    c = world.client
    assert c.post("/v1/search", json={"text": "x"}).status_code == 401
    assert c.post("/v1/search", json={"text": "x"}, headers={"Authorization": "Bearer nope"}).status_code == 401
    assert c.post("/v1/search", json={"text": "x"}, headers={"Authorization": "Basic abc"}).status_code == 401
    assert c.get("/v1/organisations").status_code == 401


def test_validation_gives_clear_4xx(world: World) -> None:
    c, h = world.client, world.h("staff")
    for body in ({"text": ""}, {"text": "   "}, {"text": "x", "k": 0}, {"text": "x", "k": 101},
                 {"text": "x", "filters": {"kinds": ["hospitaal"]}}, {"txt": "x"}, {"text": 5}):
        r = c.post("/v1/search", json=body, headers=h)
        assert r.status_code == 422, body
        assert all({"field", "reason"} <= set(e) for e in r.json()["detail"])
    r = c.post("/v1/search", content=b"{not json", headers={**h, "Content-Type": "application/json"})
    assert r.status_code == 422
    big = {"text": "x" * 1_100_000}
    assert c.post("/v1/search", json=big, headers=h).status_code == 413
    assert c.get("/v1/organisations/abc", headers=h).status_code == 404  # an id is digits: no such path
    assert c.get("/v1/organisations/0", headers=h).status_code == 422
    assert c.get("/v1/organisations?limit=100000", headers=h).status_code == 422


def test_organisation_crud_and_unicode(world: World) -> None:
    c, h = world.client, world.h("staff")
    r = c.post("/v1/organisations", headers=h, json={
        "name": "Zorgcoöperatie Één 🩺", "kind": "care_institution", "country": "nl",
        "description": "Thuiszorg met sensoren: valdetectie bij ouderen.", "contact": "info@een.example"})
    assert r.status_code == 201, r.text
    org = r.json()
    assert org["name"] == "Zorgcoöperatie Één 🩺" and org["country"] == "NL" and org["contact"] == "info@een.example"
    oid = org["id"]
    assert c.get(f"/v1/organisations/{oid}", headers=h).json()["name"] == "Zorgcoöperatie Één 🩺"
    r = c.patch(f"/v1/organisations/{oid}", headers=h, json={"city": "Enschede"})
    assert r.json()["city"] == "Enschede"
    found = c.post("/v1/search", headers=h, json={"text": "valdetectie bij ouderen thuiszorg sensoren", "k": 3})
    assert oid in [s["organisation"]["id"] for s in found.json()["data"]]
    page = c.get("/v1/organisations", headers=h, params={"name": "Zorgcoöperatie"}).json()
    assert page["count"] == 1
    assert c.delete(f"/v1/organisations/{oid}", headers=h).status_code == 204
    assert c.get(f"/v1/organisations/{oid}", headers=h).status_code == 404
    assert c.post("/v1/organisations", headers=h, json={"name": "  ", "kind": "sme"}).status_code == 422


def test_role_matrix_for_organisations(world: World) -> None:
    c = world.client
    new = {"name": "X BV", "kind": "sme", "description": "x"}
    assert c.post("/v1/organisations", json=new, headers=world.h("member_a")).status_code == 403
    assert c.post("/v1/organisations", json=new, headers=world.h("viewer")).status_code == 403
    # a member edits its own profile, not another's; a viewer edits nothing
    assert c.patch(f"/v1/organisations/{world.org_b}", json={"city": "Hengelo"},
                   headers=world.h("member_b")).status_code == 200
    assert c.patch(f"/v1/organisations/{world.org_a}", json={"city": "Hengelo"},
                   headers=world.h("member_b")).status_code == 403
    assert c.patch(f"/v1/organisations/{world.org_b}", json={"city": "x"}, headers=world.h("viewer")).status_code == 403
    assert c.delete(f"/v1/organisations/{world.org_b}", headers=world.h("member_b")).status_code == 403


def test_member_moves_its_profile_between_public_and_members_only(world: World) -> None:
    c, h, url = world.client, world.h("member_b"), f"/v1/organisations/{world.org_b}"
    try:
        assert c.patch(url, headers=h, json={"visibility": "members"}).json()["visibility"] == "members"
        assert c.get(url, headers=world.h("viewer")).status_code == 404  # hidden from viewers now
        # "staff" (hidden from every other member) is cluster staff's to set: ignored, like contact and notes
        assert c.patch(url, headers=h, json={"visibility": "staff"}).json()["visibility"] == "members"
        assert c.patch(url, headers=world.h("staff"), json={"visibility": "staff"}).json()["visibility"] == "staff"
        assert c.patch(url, headers=h, json={"visibility": "public"}).json()["visibility"] == "staff"  # not undone
    finally:
        c.patch(url, headers=world.h("staff"), json={"visibility": "public"})
    assert c.get(url, headers=world.h("viewer")).status_code == 200


def test_staff_only_fields_and_profiles_never_reach_members_or_viewers(world: World) -> None:
    c = world.client
    for who in ("member_b", "viewer"):
        r = c.get(f"/v1/organisations/{world.org_a}", headers=world.h(who))
        assert r.status_code == 200 and "contact" not in r.json() and "notes" not in r.json()
        listing = c.get("/v1/organisations", headers=world.h(who), params={"limit": 200, "country": "NL"}).text
        assert "secret-contact" not in listing and "staff note" not in listing
        assert c.get(f"/v1/organisations/{world.hidden_org}", headers=world.h(who)).status_code == 404
        hits = c.post("/v1/search", headers=world.h(who), json={
            "text": "Confidential wearable ECG research remote cardiology", "k": 50}).json()
        assert world.hidden_org not in [s["organisation"]["id"] for s in hits["data"]]
    staff = c.get(f"/v1/organisations/{world.org_a}", headers=world.h("staff")).json()
    assert staff["contact"] == "secret-contact@oost.example"
    hits = c.post("/v1/search", headers=world.h("staff"), json={
        "text": "Confidential wearable ECG research remote cardiology", "k": 5}).json()
    assert world.hidden_org in [s["organisation"]["id"] for s in hits["data"]]


def test_feedback_and_introductions(world: World) -> None:
    c = world.client
    r = c.post("/v1/feedback", headers=world.h("member_b"), json={
        "organisation_id": world.org_a, "verdict": "relevant", "challenge_id": world.challenges["public"]})
    assert r.status_code == 201
    r = c.post("/v1/introductions", headers=world.h("member_b"), json={
        "organisation_id": world.org_a, "verdict": "contacted", "note": "graag een introductie"})
    assert r.status_code == 201 and r.json()["verdict"] == "introduction"
    assert c.get("/v1/introductions", headers=world.h("member_b")).status_code == 403
    intro = c.get("/v1/introductions", headers=world.h("staff")).json()
    assert any(i["note"] == "graag een introductie" for i in intro["data"])
    assert c.post("/v1/feedback", headers=world.h("viewer"), json={
        "organisation_id": world.org_a, "verdict": "relevant"}).status_code == 403
    assert c.post("/v1/feedback", headers=world.h("member_b"), json={
        "organisation_id": world.org_a, "verdict": "great"}).status_code == 422


def test_partners_and_suggestions(world: World) -> None:
    c = world.client
    r = c.get(f"/v1/organisations/{world.org_b}/partners", headers=world.h("member_b"), params={"k": 5})
    assert r.status_code == 200
    ids = [s["organisation"]["id"] for s in r.json()["data"]]
    assert len(ids) == 5 and world.org_b not in ids
    r = c.get(f"/v1/challenges/{world.challenges['public']}/suggestions", headers=world.h("viewer"))
    assert r.status_code == 200 and world.org_a not in [s["organisation"]["id"] for s in r.json()["data"]]


def test_defects_found_by_schemathesis_stay_fixed(world: World) -> None:
    """Each was a 500 or a response the schema did not describe."""
    c, h = world.client, world.h("staff")
    r = c.post("/v1/search", headers=h, json={"text": " \t\u00a0"})
    assert r.status_code == 422
    assert r.json()["detail"] == [{"field": "text", "reason": "must not be empty or whitespace"}]
    huge = 2**70  # larger than any database integer: was a 500 (OverflowError in the driver)
    for r in (c.patch(f"/v1/organisations/{huge}", headers=h, json={}),
              c.patch(f"/v1/challenges/{huge}", headers=h, json={}),
              c.get(f"/v1/organisations/{huge}", headers=h),
              c.post("/v1/feedback", headers=h, json={"organisation_id": huge, "verdict": "relevant"}),
              c.post("/v1/search", headers=h, json={"text": "x", "filters": {"exclude_ids": [huge]}})):
        assert r.status_code == 422, r.text
    r = c.patch(f"/v1/organisations/{world.org_b}", headers=h, json={"city": None})  # null is not a city
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "city"
    r = c.post("/v1/search", headers={**h, "Content-Type": "application/json"}, content=b"\xff\xfe")
    assert r.status_code in (400, 422)  # not UTF-8: refused, and the schema documents both codes
    schema = c.get("/openapi.json").json()
    search = schema["paths"]["/v1/search"]["post"]["responses"]
    assert {"400", "401", "403", "413", "422"} <= set(search)
    assert "ValidationErrorOut" in search["422"]["content"]["application/json"]["schema"]["$ref"]


def test_concurrent_requests_on_one_worker_answer_as_sequential_ones_do(world: World) -> None:
    """Queries run in parallel threads of one process, on one snapshot: the same answers as one at a time
    (free text in English and Dutch, a challenge's suggestions, partners through the learned ranker)."""
    from concurrent.futures import ThreadPoolExecutor

    h = world.h("staff")
    asks: list[tuple[str, str, dict[str, object] | None]] = [
        ("POST", "/v1/search", {"text": t, "k": 8}) for t in (
            "wearable ECG remote cardiology monitoring", "cancer immunotherapy trial", "antimicrobial resistance",
            "thuismonitoring van hartfalen met wearables", "medical imaging with deep learning")]
    asks += [("GET", f"/v1/challenges/{world.challenges['public']}/suggestions?k=8", None),
             ("GET", f"/v1/organisations/{world.org_b}/partners?k=8", None),
             ("GET", f"/v1/organisations/{world.org_a}/partners?k=8", None)]

    def answer(ask: tuple[str, str, dict[str, object] | None]) -> list[tuple[int, float]]:
        method, url, body = ask
        r = world.client.request(method, url, json=body, headers=h)
        assert r.status_code == 200, r.text
        return [(s["organisation"]["id"], round(s["score"], 9)) for s in r.json()["data"]]

    alone = [answer(a) for a in asks * 2]
    with ThreadPoolExecutor(8) as pool:
        together = list(pool.map(answer, asks * 2))
    assert together == alone and all(alone)
