"""The follow-up list and the verdicts per question, from real feedback rows in a real SQLite store."""

from __future__ import annotations

from matcher.access import Principal
from matcher.domain import Challenge, Organisation
from matcher.storage.followups import follow_ups, judgements
from matcher.storage.keys import authenticate, create_key, record_feedback
from matcher.storage.store import Store


def _world(store: Store) -> tuple[int, int, int, Principal, Principal]:
    a, b = store.upsert_organisations([Organisation("Hospital", kind="hospital", description="Care."),
                                       Organisation("Sensors BV", kind="startup", description="ECG patch.")])
    cid = store.save_challenge(Challenge("Falls at home", "Prevent falls of older people at home.", posed_by=a))
    member = authenticate(store, create_key(store, "member", a))
    staff = authenticate(store, create_key(store, "staff", label="cluster desk"))
    return a, b, cid, member, staff


def test_steps_are_the_first_record_of_each_with_who(store: Store) -> None:
    a, b, cid, member, staff = _world(store)
    record_feedback(store, member, b, "introduction", cid, note="please introduce us")
    record_feedback(store, member, b, "relevant", cid)  # a judgement, not a follow-up step
    record_feedback(store, staff, b, "contacted", cid)
    record_feedback(store, member, b, "contacted", cid)  # again: the first one stays
    record_feedback(store, staff, a, "partnered", None, query=" wearable ECG ")
    items = follow_ups(store)
    assert [(f.organisation_id, f.challenge_id, f.query, f.stage) for f in items] == [
        (a, None, " wearable ECG ", "partnered"), (b, cid, "", "contacted")]
    steps = items[1].steps
    assert set(steps) == {"introduction", "contacted"}
    assert steps["introduction"].by.organisation_id == a and steps["introduction"].by.role == "member"
    assert steps["introduction"].note == "please introduce us"
    assert steps["contacted"].by.label == "cluster desk" and steps["contacted"].by.role == "staff"
    assert steps["introduction"].at <= steps["contacted"].at
    assert follow_ups(store, limit=1) == items[:1]


def test_nothing_to_follow_up_without_steps(store: Store) -> None:
    _a, b, cid, member, _staff = _world(store)
    record_feedback(store, member, b, "not_relevant", cid)
    assert follow_ups(store) == []


def test_judgements_per_question_newer_relevance_wins_and_per_key(store: Store) -> None:
    a, b, cid, member, staff = _world(store)
    record_feedback(store, member, b, "relevant", cid)
    record_feedback(store, member, b, "not_relevant", cid)
    record_feedback(store, staff, b, "contacted", cid)
    record_feedback(store, staff, a, "relevant", None, query="falls")
    assert {o: set(v) for o, v in judgements(store, cid).items()} == {b: {"not_relevant", "contacted"}}
    assert {o: set(v) for o, v in judgements(store, cid, key_id=member.key_id).items()} == {b: {"not_relevant"}}
    assert set(judgements(store, query=" falls ")) == {a}  # the search text, stripped
    assert judgements(store, query="other") == {}
