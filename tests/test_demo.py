"""The demo data set, loaded as `make run` loads it: real organisations, shipped vectors, Dutch <-> English."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from matcher.demo import DEMO_DIR, DemoVectors, load_demo
from matcher.domain import Organisation
from matcher.engine import Matcher, Query
from matcher.errors import Conflict
from matcher.ingest.cordis import CordisData
from matcher.storage.store import Store, text_hash
from matcher.text import project_text
from tests.conftest import open_demo

TRANSLATIONS = Path(__file__).parent / "data" / "translations.json"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Matcher]:
    """The demo in a fresh SQLite store with the default model, as `matcher demo` loads it."""
    m = open_demo(tmp_path_factory.mktemp("demo"))
    yield m
    m.store.close()


def test_shipped_vectors_cover_every_demo_text_so_nothing_is_embedded(demo: Matcher) -> None:
    assert demo.embed_missing() == 0
    assert len(demo.upkeep.current().vectors) == len(demo.store.texts()) > 2000


def test_shipped_vectors_are_the_models_own(demo: Matcher) -> None:
    """A shipped vector equals what the packaged model computes now (float16 storage aside)."""
    shipped = DemoVectors(DEMO_DIR / "vectors.npz")
    sample = list(demo.store.texts().values())[:8]
    for part in demo.encoder.parts:  # type: ignore[attr-defined]
        fresh = part.encode_documents([x for _h, x in sample])
        stored = shipped.get_vectors(part.model_id, [h for h, _x in sample])
        for (h, _x), v in zip(sample, fresh):
            assert float(stored[h] @ v) > 0.999


def test_demo_holds_the_region_and_its_challenges(demo: Matcher) -> None:
    orgs, _ = demo.store.list_organisations(0, 10_000)
    east = [o for o in orgs if o.nuts.startswith(("NL21", "NL22"))]
    assert len(orgs) > 1500 and len(east) > 150
    challenges = demo.store.list_challenges()
    dutch = [c for c in challenges if " het " in c.description or " een " in c.description]
    assert 10 <= len(challenges) <= 15 and len(dutch) >= len(challenges) // 2
    posers = demo.store.get_organisations([c.posed_by for c in challenges if c.posed_by])
    assert posers and all(o.kind in ("hospital", "care_institution") for o in posers.values())


def test_demo_loads_only_into_an_empty_database(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'own.db'}")
    store.upsert_organisations([Organisation("Own Devices BV", kind="sme", description="Our own data.")])
    with pytest.raises(Conflict, match="already holds data"):
        load_demo(store)
    assert store.count_organisations() == 1


def test_dutch_texts_find_their_english_counterparts(demo: Matcher) -> None:
    """Six real demo projects, translated into Dutch by hand (tests/data/translations.json).

    Measured with the default model: four of the six rank their English original first among
    the demo's organisations (the top suggestion's best evidence is the original); the other two
    are short translations of long objectives and rank it lower. The test guards that level and
    that every original is among the 50 nearest documents.
    """
    pairs = json.loads(TRANSLATIONS.read_text(encoding="utf-8"))
    projects = CordisData.read(DEMO_DIR).projects
    first = 0
    for pair in pairs:
        title = projects[pair["project_id"]]["title"].strip()
        top = demo.search(Query(pair["nl"], k=1))[0]
        first += top.explanation["evidence"][0]["title"].endswith(title)
        hash_ = text_hash(project_text(title, projects[pair["project_id"]]["objective"]))
        text_id = next(i for i, (h, _x) in demo.store.texts().items() if h == hash_)
        _scores, ids = demo.snapshot_.vectors.search(demo.encoder.encode_queries([pair["nl"]]), 50)  # type: ignore[union-attr]
        assert text_id in ids[0], f"{pair['project_id']}: the original is not among the 50 nearest documents"
    assert first >= 4, f"only {first} of {len(pairs)} Dutch texts rank their English original first"


COMPANY = ("startup", "sme", "large_company")


def test_every_demo_challenge_gets_on_topic_partners_for_each_wanted_kind(demo: Matcher) -> None:
    """Each wanted kind group gets at least 3 suggestions whose shown evidence is on topic (or every one
    the catalogue holds, when it holds fewer), and a challenge wanting a company sees at least 3 of
    them among its first 10."""
    from matcher.queries import suggest_for_challenge_by_role
    from matcher.ranking.roles import KIND_GROUPS

    short = []
    for ch in demo.store.list_challenges():
        assert ch.id is not None
        found, by_role = suggest_for_challenge_by_role(demo, ch.id, 10)
        roles = {r.role.name: r for r in by_role}
        wanted = {g for g, kinds in KIND_GROUPS.items() if set(kinds) & set(ch.wanted_kinds)}
        assert wanted <= set(roles), ch.title
        for group in wanted:
            got = roles[group].suggestions
            assert all(s.explanation["role"] == group and s.organisation.kind in KIND_GROUPS[group] for s in got)
            if len(got) < 3:  # then the catalogue holds no more: a deeper search finds no other on-topic one
                _all, deeper = suggest_for_challenge_by_role(demo, ch.id, 100)
                assert len(next(r for r in deeper if r.role.name == group).suggestions) == len(got), ch.title
                short.append((ch.title, group))
        if "company" in wanted:
            companies = sum(s.organisation.kind in COMPANY for s in found[:10])
            assert companies >= min(3, len(roles["company"].suggestions)), ch.title
    assert not short, short  # until 2026-12-03 the Dutch microneedle-patch challenge found 2 on-topic companies


def test_a_company_role_offers_no_consultancy_that_the_text_alone_would_rank(demo: Matcher) -> None:
    """A role that asks for a company (one that builds or supplies something) is offered no project-management,
    consulting or dissemination firm, by the consortium builder's test (name cue and breadth of evidence); on the
    demo the company ranking by the text alone does hold such firms, so the test can fail."""
    from matcher.consortium.pool import catalogue_of, find_service_firms
    from matcher.domain import Filters
    from matcher.queries import suggest_for_challenge_by_role
    from matcher.ranking.roles import KIND_GROUPS, role_pipeline

    cat = catalogue_of(demo)
    by_text_alone = 0
    for ch in demo.store.list_challenges():
        assert ch.id is not None
        _found, by_role = suggest_for_challenge_by_role(demo, ch.id, 10)
        company = next((r for r in by_role if r.role.name == "company"), None)
        if company is None:
            continue
        ids = [s.organisation.id for s in company.suggestions]
        assert ids and not find_service_firms(demo, ids, cat.org_index(ids)).any(), ch.title
        [plain] = demo.search_with([(Query(ch.query_text, 20, Filters(kinds=list(KIND_GROUPS["company"]))),
                                     role_pipeline("company"))])
        ids = [s.organisation.id for s in plain]
        by_text_alone += int(find_service_firms(demo, ids, cat.org_index(ids)).sum())
    assert by_text_alone > 0


def test_a_free_text_search_answers_per_role_it_names(demo: Matcher) -> None:
    from matcher.queries import search_by_role, text_query

    text = ("We look for a company that builds a wearable ECG patch, and a hospital to pilot remote monitoring "
            "of heart failure patients at home.")
    flat, by_role = search_by_role(demo, text_query(demo, text, 10))
    assert [r.role.name for r in by_role] == ["company", "hospital"]
    assert all(r.role.derived and len(r.suggestions) >= 3 for r in by_role)
    assert {s.organisation.kind for s in by_role[0].suggestions} <= set(COMPANY)
    assert {s.organisation.kind for s in by_role[1].suggestions} <= {"hospital", "care_institution"}
    assert flat[0].organisation.kind in COMPANY and flat[1].organisation.kind in ("hospital", "care_institution")
    plain, none = search_by_role(demo, text_query(demo, "remote monitoring of heart failure", 10))
    assert none == [] and len(plain) == 10  # no partner named and no kind asked: one list as before


def test_partners_per_role_are_of_complementary_kinds_never_competitors(demo: Matcher) -> None:
    from matcher.queries import partners_by_role

    orgs, _n = demo.store.list_organisations(0, 3000, "sme")
    sme = next(o for o in orgs if o.country == "NL" and len(demo.store.evidence_of(o.id or 0)) >= 2)
    assert sme.id is not None
    flat, by_role = partners_by_role(demo, sme.id, 5)
    assert [r.role.name for r in by_role] == ["hospital", "university", "research_institute"]
    assert all(r.suggestions for r in by_role)
    assert not {s.organisation.kind for r in by_role for s in r.suggestions} & set(COMPANY)
    assert sme.id not in {s.organisation.id for s in flat} and len(flat) == 5

    hospitals, _n = demo.store.list_organisations(0, 500, "hospital")
    hospital = next(o for o in hospitals if len(demo.store.evidence_of(o.id or 0)) >= 2)
    assert [r.role.name for r in partners_by_role(demo, hospital.id or 0, 5)[1]] == [
        "company", "university", "research_institute"]
