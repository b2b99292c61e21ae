"""A confidential challenge never reaches anyone who may not see it, by any route the API offers."""

from __future__ import annotations

import json

import pytest

from tests.api.conftest import World

# who may see a challenge of each confidentiality (all are posed by org A)
MAY_SEE = {
    "public": {"admin", "staff", "viewer", "member_a", "member_b"},
    "members": {"admin", "staff", "member_a", "member_b"},
    "staff": {"admin", "staff"},
    "owner": {"admin", "staff", "member_a"},
}
WHO = ("admin", "staff", "viewer", "member_a", "member_b")


@pytest.mark.parametrize("level", list(MAY_SEE))
@pytest.mark.parametrize("who", WHO)
def test_every_route_hides_what_the_caller_may_not_see(world: World, level: str, who: str) -> None:
    c, h, cid = world.client, world.h(who), world.challenges[level]
    allowed = who in MAY_SEE[level]
    codeword = f"Codeword-{level}"
    missing = c.get("/v1/challenges/999999", headers=h).json()
    listing = c.get("/v1/challenges", headers=h, params={"limit": 200})
    assert (codeword in listing.text) == allowed
    visible_count = sum(1 for lv, people in MAY_SEE.items() if who in people)
    assert listing.json()["count"] >= visible_count if allowed else True
    assert listing.json()["count"] == len(listing.json()["data"])
    responses = [
        c.get(f"/v1/challenges/{cid}", headers=h),
        c.get(f"/v1/challenges/{cid}/suggestions", headers=h),
        c.patch(f"/v1/challenges/{cid}", headers=h, json={"status": "open"}),
        c.post("/v1/feedback", headers=h, json={"organisation_id": world.org_b, "verdict": "relevant",
                                                 "challenge_id": cid}),
    ]
    if allowed:
        assert responses[0].status_code == 200 and codeword in responses[0].text
        assert responses[1].status_code == 200
    else:
        for r in responses:
            assert r.status_code in (403, 404), r.text
            assert codeword not in r.text and "heart failure" not in r.text
            if r.status_code == 404:  # indistinguishable from a challenge that does not exist
                assert r.json()["detail"] == missing["detail"].replace("999999", str(cid))
    for r in (c.post("/v1/search", headers=h, json={"text": f"{codeword} heart failure home monitoring"}),):
        assert codeword not in r.text


@pytest.mark.parametrize("level", list(MAY_SEE))
@pytest.mark.parametrize("who", WHO)
def test_counts_and_writes_reveal_nothing(world: World, level: str, who: str) -> None:
    """Counts hold exactly what the caller may see; writes that name a hidden challenge answer like a
    missing one (introductions, deletes), and change nothing."""
    c, h, cid = world.client, world.h(who), world.challenges[level]
    listing = c.get("/v1/challenges", headers=h, params={"limit": 200}).json()
    seen = {lv for lv in MAY_SEE if f"Codeword-{lv}" in json.dumps(listing)}
    assert seen == {lv for lv, people in MAY_SEE.items() if who in people}
    assert listing["count"] == len(listing["data"])
    if who in MAY_SEE[level]:
        return
    missing = c.post("/v1/introductions", headers=h, json={"organisation_id": world.org_b, "challenge_id": 999999,
                                                           "verdict": "introduction"})
    for r in (c.post("/v1/introductions", headers=h, json={"organisation_id": world.org_b, "challenge_id": cid,
                                                           "verdict": "introduction"}),
              c.delete(f"/v1/challenges/{cid}", headers=h)):
        assert r.status_code in (403, 404), r.text
        assert f"Codeword-{level}" not in r.text and "heart failure" not in r.text
        if r.status_code == 404 and missing.status_code == 404:
            assert r.json()["detail"] == missing.json()["detail"].replace("999999", str(cid))
    assert c.get(f"/v1/challenges/{cid}", headers=world.h("staff")).status_code == 200  # still there


@pytest.mark.parametrize("who", ("viewer", "member_a", "member_b"))
def test_staff_only_fields_never_reach_members_or_viewers(world: World, who: str) -> None:
    """Contact and notes of an organisation stay out of every answer a member or viewer gets."""
    c, h = world.client, world.h(who)
    answers = [
        c.get(f"/v1/organisations/{world.org_a}", headers=h),
        c.get("/v1/organisations", headers=h, params={"limit": 200}),
        c.get("/v1/organisations", headers=h, params={"name": "Oost"}),
        c.post("/v1/search", headers=h, json={"text": "teaching hospital pilots home monitoring heart failure",
                                              "k": 50}),
        c.post("/v1/search", headers=h, json={"text": "secret-contact@oost.example board changes staff note"}),
        c.get(f"/v1/organisations/{world.org_b}/partners", headers=h, params={"k": 50}),
        c.get(f"/v1/challenges/{world.challenges['public']}/suggestions", headers=h, params={"k": 50}),
    ]
    if who != "viewer":
        own = world.org_a if who == "member_a" else world.org_b  # a member edits its own profile
        answers.append(c.patch(f"/v1/organisations/{own}", headers=h, json={"city": "Delden"}))
    for r in answers:
        assert r.status_code == 200, r.text
        assert "secret-contact" not in r.text and "board changes" not in r.text
        assert '"contact"' not in r.text and '"notes"' not in r.text
    assert "secret-contact" in c.get(f"/v1/organisations/{world.org_a}", headers=world.h("staff")).text


def test_introductions_are_for_staff_only(world: World) -> None:
    c = world.client
    r = c.post("/v1/introductions", headers=world.h("member_b"), json={
        "organisation_id": world.org_a, "verdict": "introduction", "note": "intro-note-xyz"})
    assert r.status_code == 201
    for who in ("viewer", "member_a", "member_b"):
        for path in ("/v1/introductions", "/v1/feedback"):
            r = c.get(path, headers=world.h(who))
            assert r.status_code == 403 and "intro-note-xyz" not in r.text
    for path in ("/v1/introductions", "/v1/feedback"):
        assert c.get(path).status_code == 401
    for who in ("staff", "admin"):
        r = c.get("/v1/introductions", headers=world.h(who))
        assert r.status_code == 200 and "intro-note-xyz" in r.text
        assert r.json()["count"] == len(r.json()["data"])


def test_hidden_organisations_answer_like_missing_ones(world: World) -> None:
    """A staff-only profile does not exist for members and viewers: reads, feedback and partners say so
    in the same words as for an id that does not exist."""
    c = world.client
    for who in ("viewer", "member_a", "member_b"):
        h = world.h(who)
        pairs = [(c.get(f"/v1/organisations/{world.hidden_org}", headers=h),
                  c.get("/v1/organisations/999999", headers=h)),
                 (c.get(f"/v1/organisations/{world.hidden_org}/partners", headers=h),
                  c.get("/v1/organisations/999999/partners", headers=h))]
        if who != "viewer":
            pairs.append((c.post("/v1/feedback", headers=h, json={"organisation_id": world.hidden_org,
                                                                  "verdict": "relevant"}),
                          c.post("/v1/feedback", headers=h, json={"organisation_id": 999999, "verdict": "relevant"})))
        for hidden, missing in pairs:
            assert hidden.status_code == missing.status_code == 404
            assert hidden.json()["detail"] == missing.json()["detail"].replace("999999", str(world.hidden_org))
        listing = c.get("/v1/organisations", headers=h, params={"limit": 200, "name": "Stealth"}).json()
        assert listing == {"data": [], "count": 0}
