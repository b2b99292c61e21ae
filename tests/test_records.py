"""The rows explanations read, kept per snapshot (:mod:`matcher.storage.records`): read once, never stale after a
write, never shared with a caller."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event

from matcher.domain import Organisation, Query
from matcher.engine import Matcher
from matcher.storage.records import Records
from matcher.storage.store import Store

NEED = "wearable sensors for remote monitoring of patients at home"


@contextmanager
def statements(store: Store) -> Iterator[list[str]]:
    """The SQL statements ``store`` runs inside the block."""
    seen: list[str] = []

    def note(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        seen.append(statement)

    event.listen(store.engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(store.engine, "before_cursor_execute", note)


def _reads(seen: list[str], table: str) -> int:
    return sum(1 for s in seen if s.lstrip().upper().startswith("SELECT") and f"FROM {table}" in s)


def test_a_question_asked_again_reads_no_organisation_or_evidence_row_again(small_matcher: Matcher) -> None:
    first = small_matcher.search(Query(NEED, k=10))
    with statements(small_matcher.store) as seen:
        again = small_matcher.search(Query(NEED, k=10))
    assert [s.to_dict() for s in again] == [s.to_dict() for s in first]
    assert sum(len(s.explanation["evidence"]) for s in again) >= 10  # the explanations were made, from kept rows
    assert _reads(seen, "organisations") == 0 and _reads(seen, "evidence") == 0, seen
    with statements(small_matcher.store) as seen:  # another question: only the rows not read before
        small_matcher.search(Query("antimicrobial resistance in hospital infections", k=10))
    assert _reads(seen, "organisations") <= 1 and _reads(seen, "evidence") <= 1


def test_a_write_is_shown_by_the_next_question(small_matcher: Matcher) -> None:
    store = small_matcher.store
    top = small_matcher.search(Query(NEED, k=3))[0].organisation
    org = store.get_organisation(top.id or 0)
    org.name = "Renamed Monitoring BV"
    store.upsert_organisations([org])
    assert small_matcher.search(Query(NEED, k=3))[0].organisation.name == "Renamed Monitoring BV"
    store.delete_organisation(top.id or 0)
    assert top.id not in [s.organisation.id for s in small_matcher.search(Query(NEED, k=10))]


def test_a_caller_changing_a_suggestion_changes_nothing_kept(small_matcher: Matcher) -> None:
    top = small_matcher.search(Query(NEED, k=3))[0]
    name = top.organisation.name
    top.organisation.name = "changed by a caller"
    top.explanation["evidence"][0]["title"] = "changed by a caller"
    again = small_matcher.search(Query(NEED, k=3))[0]
    assert again.organisation.name == name and again.explanation["evidence"][0]["title"] != "changed by a caller"


def test_kept_rows_are_bounded_and_read_again_when_dropped(sqlite_store: Store) -> None:
    ids = sqlite_store.upsert_organisations([Organisation(f"Lab {i}", kind="university") for i in range(3)])
    records = Records(limit=2)
    assert {i: o.name for i, o in records.organisations(sqlite_store, ids).items()} == {
        ids[0]: "Lab 0", ids[1]: "Lab 1", ids[2]: "Lab 2"}
    with statements(sqlite_store) as seen:
        assert records.organisations(sqlite_store, ids[1:])[ids[2]].name == "Lab 2"  # the two newest are kept
    assert _reads(seen, "organisations") == 0
    with statements(sqlite_store) as seen:
        assert records.organisations(sqlite_store, ids[:1])[ids[0]].name == "Lab 0"  # the oldest was dropped
    assert _reads(seen, "organisations") == 1
    assert records.organisations(sqlite_store, [10_000]) == {}  # an unknown id is absent, as from the store


def test_members_of_one_project_show_its_sentence_each_in_a_list_of_their_own(small_matcher: Matcher) -> None:
    """A project's text is chosen from once per question (its members share it); each suggestion still gets
    lists of its own."""
    suggestions = small_matcher.search(Query(NEED, k=30))
    by_title: dict[str, list[dict[str, object]]] = {}
    for s in suggestions:
        for item in s.explanation["evidence"]:
            by_title.setdefault(str(item["title"]), []).append(item)
    shared = [items for items in by_title.values() if len(items) > 1]
    assert shared, "no two suggestions share a project: the check below would check nothing"
    for items in shared:
        assert len({(str(i["sentence"]), tuple(i["terms"])) for i in items}) == 1  # type: ignore[arg-type]
        items[0]["terms"].append("changed by a caller")  # type: ignore[attr-defined]
        assert all("changed by a caller" not in i["terms"] for i in items[1:])  # type: ignore[operator]
