"""A confidential challenge never reaches anyone who may not see it, by any route the API offers."""

from __future__ import annotations

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
