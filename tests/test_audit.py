"""The audit log: what is recorded, how it is cut down, how it is read back."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import update

from matcher.access import LOCAL_ADMIN, Principal, Role
from matcher.domain import Challenge, Organisation
from matcher.storage import audit
from matcher.storage import schema as t
from matcher.storage.keys import authenticate, create_key, record_feedback
from matcher.storage.store import Store

MEMBER = Principal(Role.MEMBER, 7, 3)


def test_an_entry_says_who_did_what_to_what_and_when(store: Store) -> None:
    before = dt.datetime.now(dt.timezone.utc)
    audit.record(store, MEMBER, "challenge.update", "challenge:5", {"fields": ["title", "status"]})
    [e] = audit.entries(store)
    assert (e.key_id, e.role, e.organisation_id, e.action, e.target) == (3, "member", 7, "challenge.update",
                                                                          "challenge:5")
    assert e.detail == {"fields": ["title", "status"]} and before <= e.at <= dt.datetime.now(dt.timezone.utc)
    assert e.who == "member key #3 (organisation #7)" and e.to_dict()["at"] == e.at.isoformat()
    audit.record(store, LOCAL_ADMIN, "key.create", "key:1")
    assert audit.entries(store)[0].who == "local admin (CLI)"


def test_an_entry_commits_with_the_change_or_not_at_all(store: Store) -> None:
    with pytest.raises(RuntimeError), store.transaction() as conn:
        cid = store.save_challenge(Challenge("Home monitoring", "Heart failure at home."), conn)
        audit.record(conn, MEMBER, "challenge.create", f"challenge:{cid}")
        raise RuntimeError("the request failed after the write")
    assert store.list_challenges() == [] and audit.entries(store) == []


def test_details_are_kept_small() -> None:
    cut = audit.small({"text": "x" * 5000, "ids": list(range(100)), "deep": {"a": {"b": {"c": {"d": 1}}}},
                       "tags": {"b", "a"}, "when": dt.date(2025, 1, 2)})
    assert len(cut["text"]) == audit.MAX_STRING and cut["text"].endswith("…")
    assert cut["ids"] == list(range(audit.MAX_ITEMS)) and cut["tags"] == ["a", "b"] and cut["when"] == "2025-01-02"
    assert cut["deep"] == {"a": {"b": "{'c': {'d': 1}}"}}


def test_entries_are_newest_first_and_filtered_by_time_action_and_limit(store: Store) -> None:
    for i in range(5):
        audit.record(store, MEMBER, "shortlist.add" if i % 2 else "feedback.record", f"organisation:{i}")
    with store.transaction() as conn:  # the first two happened yesterday
        conn.execute(update(t.audit_log).where(t.audit_log.c.id <= 2).values(
            created_at=dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=1)))
    assert [e.target for e in audit.entries(store)] == [f"organisation:{i}" for i in (4, 3, 2, 1, 0)]
    today = dt.datetime.now(dt.timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
    assert [e.target for e in audit.entries(store, since=today)] == ["organisation:4", "organisation:3",
                                                                     "organisation:2"]
    assert [e.target for e in audit.entries(store, limit=2)] == ["organisation:4", "organisation:3"]
    assert [e.target for e in audit.entries(store, action="shortlist.add")] == ["organisation:3", "organisation:1"]


def test_a_verdict_is_recorded_with_its_audit_entry(store: Store) -> None:
    [oid] = store.upsert_organisations([Organisation("Isala", kind="hospital")])
    member = authenticate(store, create_key(store, "member", oid))
    fid = record_feedback(store, member, oid, "relevant", query="home monitoring")
    record_feedback(store, member, oid, "introduction")
    intro, verdict, _created = audit.entries(store)
    assert (verdict.action, verdict.target, verdict.detail["feedback_id"], verdict.detail["verdict"]) == (
        "feedback.record", f"organisation:{oid}", fid, "relevant")
    assert (verdict.key_id, verdict.role, verdict.organisation_id) == (member.key_id, "member", oid)
    assert intro.action == "introduction.request"
