"""/v1/keys and /v1/audit: admins list, create and revoke keys; every change by a person is in the audit log."""

from __future__ import annotations

import datetime as dt
import io

from sqlalchemy import update

from matcher.storage import schema as t
from tests.api.conftest import World


def _bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_admins_create_list_and_revoke_keys_and_a_revoked_key_is_refused_at_once(world: World) -> None:
    c, admin = world.client, world.h("admin")
    r = c.post("/v1/keys", headers=admin, json={"role": "member", "organisation_id": world.org_b,
                                                "label": "Twente Sensors CEO", "expires_days": 90})
    assert r.status_code == 201, r.text
    made = r.json()
    key = made.pop("key")
    assert key.startswith(made["prefix"]) and made["status"] == "active" and made["last_used_at"] is None
    assert dt.timedelta(days=89) < (dt.datetime.fromisoformat(made["expires_at"])
                                    - dt.datetime.fromisoformat(made["created_at"])) <= dt.timedelta(days=90)
    assert c.get(f"/v1/organisations/{world.org_b}", headers=_bearer(key)).status_code == 200

    r = c.get("/v1/keys", headers=admin)
    assert r.status_code == 200 and key not in r.text
    listed = {k["id"]: k for k in r.json()["data"]}
    assert r.json()["count"] == len(listed) >= 6
    assert {k: v for k, v in listed[made["id"]].items() if k != "last_used_at"} == {
        k: v for k, v in made.items() if k != "last_used_at"}
    assert listed[made["id"]]["last_used_at"] is not None  # the request above used it

    assert c.delete(f"/v1/keys/{made['id']}", headers=admin).status_code == 204
    r = c.get(f"/v1/organisations/{world.org_b}", headers=_bearer(key))
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    assert c.delete(f"/v1/keys/{made['id']}", headers=admin).status_code == 204  # again: nothing changes
    assert {k["id"]: k for k in c.get("/v1/keys", headers=admin).json()["data"]}[made["id"]]["status"] == "revoked"
    assert c.delete("/v1/keys/424242", headers=admin).status_code == 404


def test_an_expired_key_is_refused(world: World) -> None:
    c = world.client
    made = c.post("/v1/keys", headers=world.h("admin"), json={"role": "viewer", "expires_days": 1}).json()
    assert c.get("/v1/challenges", headers=_bearer(made["key"])).status_code == 200
    with world.store.transaction() as conn:
        conn.execute(update(t.api_keys).where(t.api_keys.c.id == made["id"]).values(
            expires_at=dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=1)))
    r = c.get("/v1/challenges", headers=_bearer(made["key"]))
    assert r.status_code == 401 and r.json()["detail"] == "this API key has expired"
    listed = {k["id"]: k for k in c.get("/v1/keys", headers=world.h("admin")).json()["data"]}
    assert listed[made["id"]]["status"] == "expired"


def test_only_admins_manage_keys_and_an_admin_cannot_revoke_its_own_key(world: World) -> None:
    c = world.client
    for who in ("staff", "member_a", "viewer"):
        assert c.get("/v1/keys", headers=world.h(who)).status_code == 403
        assert c.post("/v1/keys", headers=world.h(who), json={"role": "admin"}).status_code == 403
        assert c.get("/v1/audit", headers=world.h(who)).status_code == 403
    assert c.get("/v1/keys").status_code == 401
    own = next(k for k in c.get("/v1/keys", headers=world.h("admin")).json()["data"]
               if world.keys["admin"].startswith(k["prefix"]) and k["role"] == "admin")
    r = c.delete(f"/v1/keys/{own['id']}", headers=world.h("admin"))
    assert r.status_code == 409 and "another admin key" in r.json()["detail"]
    assert c.get("/v1/keys", headers=world.h("admin")).status_code == 200


def test_a_new_key_is_checked_like_every_other_input(world: World) -> None:
    c, admin = world.client, world.h("admin")
    r = c.post("/v1/keys", headers=admin, json={"role": "member"})
    assert r.status_code == 422 and r.json()["detail"] == [{"field": "organisation_id",
                                                            "reason": "required when role is 'member'"}]
    for bad in ({"role": "owner"}, {"role": "staff", "expires_days": 0}, {"role": "staff", "expires_days": "5"},
                {"role": "staff", "label": "x" * 201}, {"role": "staff", "key": "mk_chosen"}):
        assert c.post("/v1/keys", headers=admin, json=bad).status_code == 422, bad
    assert c.post("/v1/keys", headers=admin, json={"role": "member", "organisation_id": 424242}).status_code == 404


def test_every_change_by_a_person_is_in_the_audit_log(world: World) -> None:
    c, staff, member = world.client, world.h("staff"), world.h("member_a")
    cid = c.post("/v1/challenges", headers=member, json={"title": "Falls at home", "description": "Sensors."}
                 ).json()["id"]
    c.patch(f"/v1/challenges/{cid}", headers=member, json={"status": "closed", "title": "Falls at home (closed)"})
    c.delete(f"/v1/challenges/{cid}", headers=staff)
    c.patch(f"/v1/organisations/{world.org_a}", headers=member, json={"seeks": "Fall detection sensors."})
    oid = c.post("/v1/organisations", headers=staff, json={"name": "Saxion Lab", "kind": "university"}).json()["id"]
    c.post("/v1/feedback", headers=member, json={"organisation_id": oid, "verdict": "relevant", "query": "falls"})
    r = c.post("/v1/organisations/import", headers=staff, files={"file": (
        "members.csv", io.BytesIO(b"name,kind,description\nRoessingh,care_institution,Rehabilitation centre.\n"))})
    assert r.status_code == 200 and r.json()["imported"] == 1
    c.get("/v1/challenges", headers=member)  # reading changes nothing

    r = c.get("/v1/audit", headers=world.h("admin"), params={"limit": 7})
    assert r.status_code == 200
    got = [(e["action"], e["target"], e["role"], e["organisation_id"]) for e in r.json()["data"]][::-1]
    assert got == [("challenge.create", f"challenge:{cid}", "member", world.org_a),
                   ("challenge.update", f"challenge:{cid}", "member", world.org_a),
                   ("challenge.delete", f"challenge:{cid}", "staff", None),
                   ("organisation.update", f"organisation:{world.org_a}", "member", world.org_a),
                   ("organisation.create", f"organisation:{oid}", "staff", None),
                   ("feedback.record", f"organisation:{oid}", "member", world.org_a),
                   ("organisations.import", "organisations", "staff", None)]
    details = [e["detail"] for e in r.json()["data"]][::-1]
    assert details[1] == {"fields": ["status", "title"]} and details[3] == {"fields": ["seeks"]}
    assert details[6]["imported"] == 1 and details[6]["file"] == "members.csv"
    assert all(e["key_id"] is not None for e in r.json()["data"])

    tomorrow = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=1)).date().isoformat()
    assert c.get("/v1/audit", headers=world.h("admin"), params={"since": tomorrow}).json() == {"data": [], "count": 0}
    only = c.get("/v1/audit", headers=world.h("admin"), params={"action": "challenge.delete"}).json()
    assert only["count"] == 1 and only["data"][0]["detail"] == {"title": "Falls at home (closed)"}
    for bad in ("yesterday", "0", "20250301", "2025-02-30"):  # only a real YYYY-MM-DD, as the schema says
        assert c.get("/v1/audit", headers=world.h("admin"), params={"since": bad}).status_code == 422, bad
