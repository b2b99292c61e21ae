"""The store on SQLite and PostgreSQL: CRUD, evidence following the profile, the change log."""

from __future__ import annotations

import numpy as np
import pytest

from matcher.domain import Challenge, Organisation
from matcher.errors import InvalidInput, NotFound
from matcher.storage.store import Store, text_hash


def _org(name: str = "Twente Microfluidics BV", **kw: object) -> Organisation:
    base = dict(kind="startup", country="NL", nuts="NL213", city="Enschede",
                description="Organ-on-chip platforms for drug screening.", offers="Microfluidic chip design.")
    base.update(kw)
    return Organisation(name=name, **base)  # type: ignore[arg-type]


def test_organisation_round_trip_keeps_unicode_and_staff_fields(store: Store) -> None:
    [oid] = store.upsert_organisations([_org("Zorggroep Noord‑Oost 🏥", contact="j.jansen@example.nl",
                                             capabilities=["sensoren", "ë-health"])])
    got = store.get_organisation(oid)
    assert got.name == "Zorggroep Noord‑Oost 🏥"
    assert got.capabilities == ["sensoren", "ë-health"]
    assert got.contact == "j.jansen@example.nl"
    assert "contact" not in got.public_dict() and "notes" not in got.public_dict()


def test_profile_evidence_follows_description_and_offers(store: Store) -> None:
    [oid] = store.upsert_organisations([_org()])
    sources = sorted(e["source"] for e in store.evidence_of(oid))
    assert sources == ["description", "offers"]
    org = store.get_organisation(oid)
    org.offers = ""
    org.description = "Wearable sensors for home monitoring."
    store.upsert_organisations([org])
    ev = store.evidence_of(oid)
    assert [e["source"] for e in ev] == ["description"]
    assert ev[0]["text"] == "Wearable sensors for home monitoring."
    # the old texts are gone from the texts table: nothing orphaned stays indexed
    texts = {x for _h, x in store.texts().values()}
    assert "Microfluidic chip design." not in texts


def test_every_write_moves_the_change_number(store: Store) -> None:
    n0 = store.change_no()
    [oid] = store.upsert_organisations([_org()])
    n1 = store.change_no()
    store.delete_organisation(oid)
    n2 = store.change_no()
    assert n0 < n1 < n2
    ops = {(e, op) for _i, e, _eid, op in store.changes_since(n1)}
    assert ("organisation", "delete") in ops and ("text", "delete") in ops


def test_upsert_by_external_id_does_not_duplicate(store: Store) -> None:
    a = store.upsert_organisations([_org(external_id="member:42")])
    b = store.upsert_organisations([_org(external_id="member:42", city="Hengelo")])
    assert a == b
    assert store.count_organisations() == 1
    assert store.get_organisation(a[0]).city == "Hengelo"


def test_one_call_with_new_known_profiled_and_repeated_organisations_keeps_order_and_identity(store: Store) -> None:
    [known] = store.upsert_organisations([_org("Known", external_id="pic:1", description="")])
    batch = [Organisation("Plain A", kind="sme", external_id="pic:2"),
             Organisation("Known renamed", kind="sme", external_id="pic:1"),
             Organisation("Plain B", kind="university", external_id="pic:3"),
             _org("Profiled", external_id="pic:4"),
             Organisation("Plain A again", kind="sme", external_id="pic:2"),
             Organisation("No external id", kind="hospital")]
    ids = store.upsert_organisations(batch)
    assert ids[1] == known and ids[4] == ids[0]
    new = [ids[0], ids[2], ids[3], ids[5]]
    assert new == sorted(new) and len(set(new)) == 4 and known not in new  # ids follow the list's order
    assert [store.get_organisation(i).name for i in ids] == [
        "Plain A again", "Known renamed", "Plain B", "Profiled", "Plain A again", "No external id"]
    assert [o.id for o in batch] == ids
    assert sorted(e["source"] for e in store.evidence_of(ids[3])) == ["description", "offers"]
    assert store.evidence_of(ids[0]) == []
    logged = [eid for _i, e, eid, _op in store.changes_since(0) if e == "organisation"]
    assert logged[-6:] == ids


def test_missing_things_raise_not_found(store: Store) -> None:
    with pytest.raises(NotFound):
        store.get_organisation(999)
    with pytest.raises(NotFound):
        store.delete_organisation(999)
    with pytest.raises(NotFound):
        store.get_challenge(999)


def test_challenges_keep_confidentiality_and_refuse_empty_text(store: Store) -> None:
    [oid] = store.upsert_organisations([_org("Radboudumc", kind="hospital")])
    cid = store.save_challenge(Challenge("Valpreventie", "Sensoren die vallen bij ouderen voorspellen.",
                                         posed_by=oid, wanted_kinds=["startup"], confidentiality="owner"))
    ch = store.get_challenge(cid)
    assert (ch.confidentiality, ch.wanted_kinds, ch.posed_by) == ("owner", ["startup"], oid)
    with pytest.raises(InvalidInput):
        store.save_challenge(Challenge("  ", "x"))


def test_vectors_are_stored_per_model_and_text(store: Store) -> None:
    v = np.eye(3, dtype=np.float32)
    hashes = [text_hash(x) for x in ("a", "b", "c")]
    store.put_vectors("model-a", hashes, v)
    store.put_vectors("model-a", hashes, v * 2)  # already there: kept, not replaced
    got = store.get_vectors("model-a", hashes)
    assert np.array_equal(got[hashes[1]], v[1])
    assert store.get_vectors("model-b", hashes) == {}


def test_migrations_go_down_and_up_again(store: Store) -> None:
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import inspect

    import matcher.storage.store as ms

    cfg = Config()
    cfg.set_main_option("script_location", str(ms.Path(ms.__file__).parent / "migrations"))
    with store.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "base")
    assert "organisations" not in inspect(store.engine).get_table_names()
    ms.migrate(store.engine)
    assert {"organisations", "evidence", "vectors", "changes"} <= set(inspect(store.engine).get_table_names())


def test_the_migrations_create_exactly_the_tables_of_schema_py(store: Store) -> None:
    """Alembic compares the migrated database with ``matcher.storage.schema``: no table, column, index
    or type differs (a column added to one and not the other fails here)."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from matcher.storage.schema import metadata

    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), metadata)
    assert diff == []


def test_a_database_at_the_head_revision_is_recognised_without_alembic(store: Store) -> None:
    from alembic import command
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    import matcher.storage.store as ms

    cfg = Config()
    cfg.set_main_option("script_location", str(ms.MIGRATIONS))
    assert ms.head_revision() == ScriptDirectory.from_config(cfg).get_current_head()  # our reading = Alembic's
    assert ms.at_head(store.engine)
    with store.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "-1")
    assert not ms.at_head(store.engine)  # one revision behind: Alembic upgrades it
    ms.migrate(store.engine)
    assert ms.at_head(store.engine)
