"""The query pipeline stage by stage, on real CORDIS projects: retrieve, feedback, cut, explain; snapshots."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import numpy as np
import pytest

from matcher.domain import Filters, Organisation, Query
from matcher.engine import Matcher
from matcher.ingest.cordis import CordisData, import_cordis
from matcher.ranking import feedback
from matcher.ranking.explain import explain
from matcher.ranking.pipeline import Pipeline, cut
from matcher.retrieval import fuse
from matcher.retrieval.bridge import query_terms
from matcher.retrieval.embed import Encoder
from matcher.retrieval.retrieve import RankingConfig, retrieve
from matcher.retrieval.scores import Ranking
from matcher.retrieval.snapshot import Snapshot
from matcher.storage.store import Store
from matcher.text import project_text, tokens

TEXT = "clinical trial of a new vaccine against infections"


@pytest.fixture(scope="module")
def m(small_cordis: CordisData, encoder: Encoder, tmp_path_factory: pytest.TempPathFactory) -> Matcher:
    tmp = tmp_path_factory.mktemp("pipeline")
    store = Store(f"sqlite:///{tmp / 'p.db'}")
    import_cordis(store, small_cordis)
    matcher = Matcher(store, encoder, tmp / "index")
    matcher.sync()
    return matcher


def _retrieved(m: Matcher, query: Query) -> tuple[Snapshot, Ranking]:
    snap = m.upkeep.current()
    return snap, retrieve(snap, query, m.query_vectors([query.text])[0], RankingConfig())


def test_retrieve_scores_every_document_and_orders_organisations_by_their_evidence(m: Matcher) -> None:
    snap, r = _retrieved(m, Query(TEXT, 10, Filters(kinds=["university"])))
    cat = snap.catalogue
    assert r.docs.fused.shape == r.docs.dense.shape == (len(cat.doc_ids),)
    assert r.org_scores.shape == r.hits.shape == (cat.n_orgs,)
    assert np.isneginf(r.org_scores[cat.kinds != "university"]).all()  # filtered before the cut-off
    assert (cat.kinds[r.order] == "university").all() and len(r.order) >= 10
    scores = r.org_scores[r.order]
    assert (np.diff(scores) <= 0).all() and np.isfinite(scores).all()
    # an organisation's score is the sum of its best three fused evidence scores (top_evidence=3)
    best = int(r.order[0])
    docs = np.sort(r.docs.fused[cat.org_docs(best)])[::-1][:3]
    assert np.isclose(r.org_scores[best], docs[np.isfinite(docs)].sum())
    assert r.hits[best] == np.isfinite(r.docs.fused[cat.org_docs(best)]).sum()


def test_feedback_marks_and_moves_judged_organisations_with_their_scores(m: Matcher) -> None:
    snap, r = _retrieved(m, Query(TEXT, 10))
    ids = snap.catalogue.org_ids[r.order]
    liked, disliked = int(ids[5]), int(ids[0])
    judged = feedback.mark(replace(r, query=Query(TEXT, 10, verdicts={liked: "relevant", disliked: "not_relevant"})),
                           snap.catalogue)
    assert judged.has_feedback and not feedback.mark(r, snap.catalogue).has_feedback
    learned = np.arange(len(r.order), dtype=float)[::-1]  # stands for ranker scores aligned with the order
    moved = feedback.apply(replace(judged, learned=learned, rows=learned[:, None].copy()))
    new_ids = snap.catalogue.org_ids[moved.order]
    assert new_ids[0] == liked and new_ids[-1] == disliked
    assert moved.learned is not None and moved.rows is not None
    assert moved.learned[0] == learned[5] and moved.learned[-1] == learned[0]  # scores travel with them
    assert np.array_equal(moved.rows[:, 0], moved.learned)
    assert sorted(new_ids.tolist()) == sorted(ids.tolist())


def test_cut_and_explain_give_k_suggestions_with_their_evidence(m: Matcher) -> None:
    snap, r = _retrieved(m, Query(TEXT, 4))
    short = cut(r, 4)
    assert len(short.order) == 4 and short.learned is None
    got = explain(short, snap, m.store)
    assert [s.rank for s in got] == [1, 2, 3, 4]
    assert [s.organisation.id for s in got] == snap.catalogue.org_ids[short.order].tolist()
    assert all(s.explanation["evidence"] and "ranker" not in s.components for s in got)
    assert [s.score for s in got] == r.org_scores[short.order].tolist()


def test_a_pipeline_without_ranker_equals_retrieval_cut_to_k(m: Matcher) -> None:
    snap, r = _retrieved(m, Query(TEXT, 7))
    got = Pipeline().run(snap, m.store, Query(TEXT, 7), m.query_vectors([TEXT])[0], explained=False)
    assert [s.organisation.id for s in got] == snap.catalogue.org_ids[fuse.top_k(r.org_scores, 7)].tolist()


def test_a_write_makes_a_new_snapshot_and_leaves_the_old_one_as_it_was(m: Matcher) -> None:
    old = m.upkeep.current()
    n_old = len(old.vectors)
    before = Pipeline().run(old, m.store, Query("needle-free injection for children", 3),
                            m.query_vectors(["needle-free injection for children"])[0], explained=False)
    [oid] = m.store.upsert_organisations([Organisation(
        "Jetless Kids BV", kind="startup", description="Needle-free injection of vaccines for children.")])
    new = m.upkeep.current()
    assert new is not old and new.change_no > old.change_no and len(new.vectors) == n_old + 1
    assert len(old.vectors) == n_old and oid not in old.catalogue.org_ids  # untouched: queries on it finish
    again = Pipeline().run(old, m.store, Query("needle-free injection for children", 3),
                           m.query_vectors(["needle-free injection for children"])[0], explained=False)
    assert [s.organisation.id for s in again] == [s.organisation.id for s in before]
    assert m.search(Query("needle-free injection for children", 1))[0].organisation.id == oid


def test_concurrent_queries_answer_as_sequential_ones_do(m: Matcher) -> None:
    texts = [TEXT, "cancer immunotherapy", "wearable sensors for heart failure", "antimicrobial resistance",
             "dementia care at home", "medical imaging with deep learning"] * 3
    alone = [[s.organisation.id for s in m.search(Query(t, 10))] for t in texts]
    with ThreadPoolExecutor(4) as pool:
        together = list(pool.map(lambda t: [s.organisation.id for s in m.search(Query(t, 10))], texts))
    assert together == alone


def test_a_dutch_question_says_it_also_searched_in_english(m: Matcher) -> None:
    dutch = m.search(Query("klinische studie van een nieuw vaccin tegen infecties", 3))
    english = m.search(Query(TEXT, 3))
    assert dutch and all(s.explanation["searched"] == "searched in Dutch and English" for s in dutch)
    assert english and all("searched" not in s.explanation for s in english)


def test_a_dutch_questions_explanation_shows_the_english_evidence_words_it_met(m: Matcher) -> None:
    """The evidence is English and the Dutch words share no stem with it ("kanker", "beeldvorming"); the
    question is searched with their English renderings (the lexical bridge), and the explanation shows which of
    those words each piece of evidence holds, as it does for an English question."""
    for question in ("beeldvorming van kanker", "cancer imaging"):
        found = m.search(Query(question, 5))
        shown = [(t, ev["sentence"]) for s in found for ev in s.explanation["evidence"] for t in ev["terms"]]
        asked = query_terms(question)  # "kanker": cancer, tumour, oncologic, ...
        assert set(tokens(" ".join(t for t, _ in shown))) & {"cancer", "imag"}
        assert all(set(tokens(t)) & asked for t, _ in shown)
        assert all(t.lower() in sentence.lower() for t, sentence in shown)
    assert not set(tokens("beeldvorming van kanker")) & {"cancer", "imag"}  # no stem in common with English


def test_ties_raise_the_askers_past_partners_as_far_as_the_text_fits_them(m: Matcher) -> None:
    snap = m.upkeep.current()
    cat = snap.catalogue
    seed = int(np.argmax(np.bincount(cat.link_org, minlength=cat.n_orgs)))  # the most active organisation
    seed_id = int(cat.org_ids[seed])
    query = Query(TEXT, 10, Filters(exclude_ids=[seed_id]), seed=seed_id)
    qv = m.query_vectors([TEXT])[0]
    plain = Pipeline(RankingConfig(seed_weight=0.0)).rank(snap, query, qv)
    tied = Pipeline(RankingConfig(seed_weight=1.0)).rank(snap, query, qv)
    shared = snap.graph.ties(seed).shared
    every = Pipeline(RankingConfig(seed_weight=0.0)).rank(snap, replace(query, k=cat.n_orgs), qv).order
    # the ties counted are the seed's, among the best 50 by the text only (seed_within)
    assert plain.shared is None and tied.shared is not None and tied.shared.any()
    assert (tied.shared == np.where(np.isin(np.arange(cat.n_orgs), every[:50]), shared, 0)).all()
    # past partners move up, never down; the others keep their relative order
    plain_rank = {int(p): i for i, p in enumerate(every)}
    partners = [(i, int(p)) for i, p in enumerate(tied.order) if shared[p] > 0]
    assert partners and (tied.order != plain.order).any()
    assert all(i <= plain_rank[p] for i, p in partners) and any(i < plain_rank[p] for i, p in partners)
    others = [int(p) for p in tied.order if shared[p] == 0]
    assert [plain_rank[p] for p in others] == sorted(plain_rank[p] for p in others)
    # a scaled score times 1 + weight * log(1 + projects together), so the order is by that score
    assert (np.diff(tied.org_scores[tied.order]) <= 0).all()
    # and the explanation says why
    found = Pipeline(RankingConfig(seed_weight=1.0)).run(snap, m.store, query, qv)
    tie = next(s for s in found if s.components.get("projects_together", 0) > 0)
    assert any(r.startswith("worked with ") for r in tie.explanation["reasons"])
    # only the best `seed_within` by the text move: the same organisations, re-ordered
    near = Pipeline(RankingConfig(seed_weight=1.0, seed_within=20)).rank(snap, replace(query, k=20), qv)
    assert set(near.order.tolist()) == set(every[:20].tolist()) and (near.order != every[:20]).any()
    # a question nobody asks (no seed), or one that is not about forming a team around the seed, is left as it was
    for same in (Query(TEXT, 10), replace(query, ties=False)):
        assert (Pipeline(RankingConfig(seed_weight=1.0)).rank(snap, same, qv).order
                == Pipeline(RankingConfig(seed_weight=0.0)).rank(snap, same, qv).order).all()


def test_the_size_prior_moves_active_organisations_up_among_those_the_text_found(m: Matcher) -> None:
    snap = m.upkeep.current()
    act = snap.catalogue.activity
    query = Query(TEXT, 10, Filters(kinds=["university"]))
    qv = m.query_vectors([TEXT])[0]
    plain = Pipeline(RankingConfig(activity_weight=0.0)).rank(snap, replace(query, k=30), qv)
    sized = Pipeline(RankingConfig(activity_weight=1.0)).rank(snap, replace(query, k=30), qv)
    assert set(np.flatnonzero(np.isfinite(sized.org_scores))) == set(np.flatnonzero(np.isfinite(plain.org_scores)))
    assert act[sized.order[:10]].sum() > act[plain.order[:10]].sum()
    # the score is the scaled fused score plus weight x log(1 + projects) / log(1 + most projects)
    ok = np.isfinite(plain.org_scores)
    s = plain.org_scores[ok]
    expected = (s - s.min()) / (s.max() - s.min()) + np.log1p(act[ok]) / np.log1p(act.max())
    assert np.allclose(sized.org_scores[ok], expected)


def _reference_retrieve(snap: Snapshot, query: Query, qvec: np.ndarray, config: RankingConfig,
                        context_vec: np.ndarray | None = None) -> Ranking:
    """The slow reference: retrieval as it was before the top-k path (issue 15), every document
    scored by bm25s, fused and aggregated over full arrays."""
    cat, lex = snap.catalogue, snap.lexical
    org_ok = cat.allowed_orgs(query.filters, query.visible)
    doc_ok = cat.docs_of(org_ok)
    n, n_ok = len(cat.doc_ids), int(doc_ok.sum())

    def doc_scores(vec: np.ndarray, lex_all: np.ndarray, depth: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        scores, ids = snap.vectors.search(vec, min(depth, max(n_ok, 1)), None if n_ok == n else cat.doc_ids[doc_ok])
        dense = np.full(n, -np.inf)
        ok = ids[0] >= 0
        dense[np.searchsorted(cat.doc_ids, ids[0][ok])] = scores[0][ok]
        lexical = np.where(doc_ok & (lex_all > 0), lex_all, -np.inf)
        top = fuse.top_k(lexical, depth)
        cut_ = np.full(n, -np.inf)
        cut_[top] = lexical[top]
        return fuse.fuse_scores(dense, cut_, config.fusion, config.dense_weight, config.lexical_weight,
                                config.shift), dense, cut_

    from matcher.retrieval.retrieve import _mix
    from matcher.retrieval.scores import DocScores

    lex_q = lex.scores(query.text, config.lexical_terms)
    lex_c = lex.scores(query.context, config.lexical_terms) if query.context and context_vec is not None else None
    depth = config.depth
    while True:
        docs = DocScores(*doc_scores(qvec, lex_q, depth))
        if lex_c is not None and context_vec is not None:
            ctx = DocScores(*doc_scores(context_vec, lex_c, depth))
            both = _mix(np.where(np.isfinite(docs.fused), docs.fused, 0.0),
                        np.where(np.isfinite(ctx.fused), ctx.fused, 0.0), config)
            hit = np.isfinite(docs.fused) | np.isfinite(ctx.fused)
            docs = DocScores(np.where(hit, both, -np.inf), docs.dense, docs.lexical, ctx.dense)
        org_scores, hits = fuse.aggregate(docs.fused, cat.link_doc, cat.link_org, cat.n_orgs, config.top_evidence,
                                          config.decay)
        org_scores[~org_ok] = -np.inf
        if int(np.isfinite(org_scores).sum()) >= query.k or depth >= n_ok:
            break
        depth *= 4
    room = max(config.candidates, query.k) + len(query.verdicts) + len(query.demote)
    return Ranking(query, docs, org_scores, hits, fuse.top_k(org_scores, room))


REFERENCE_QUERIES = [
    Query(TEXT, 10),
    Query("cancer immunotherapy", 25, Filters(kinds=["university", "research_institute"])),
    Query("wearable sensors for heart failure", 10, Filters(countries=["NL", "DE"])),
    Query("klinische studie van een nieuw vaccin tegen infecties", 10),  # Dutch: the lexical bridge
    Query("MDR CE marking", 5, Filters(kinds=["sme"], exclude_ids=[1, 2, 3])),
    Query("a hospital to pilot the device", 10, context="wearable ECG patch for atrial fibrillation at home"),
    Query("zzzz qqqq", 10),  # no lexical match at all
    Query("antimicrobial resistance diagnostics", 40, Filters(kinds=["hospital"])),  # a narrow filter deepens
]


@pytest.mark.parametrize("fusion", ["zsum", "rrf", "dense", "bm25"])
@pytest.mark.parametrize("depth", [1000, 20])
def test_top_k_retrieval_equals_scoring_every_document(m: Matcher, small_cordis: CordisData, fusion: str,
                                                        depth: int) -> None:
    snap = m.upkeep.current()
    longest = max(small_cordis.projects.values(), key=lambda p: len(p["objective"]))
    long = Query(project_text(longest["title"], longest["objective"]), 10)  # read through its 64 telling terms
    assert len({t for t, _w in snap.lexical.search_terms(long.text)}) > 64
    for config in (RankingConfig(fusion=fusion, depth=depth),
                   RankingConfig(fusion=fusion, depth=depth, top_evidence=2, decay=0.5, context_mix="both"),
                   RankingConfig(fusion=fusion, depth=depth, lexical_terms=0)):
        for q in [*REFERENCE_QUERIES, long]:
            qvec = m.query_vectors([q.text])[0]
            cvec = m.query_vectors([q.context])[0] if q.context else None
            got, want = retrieve(snap, q, qvec, config, cvec), _reference_retrieve(snap, q, qvec, config, cvec)
            for name in ("fused", "dense", "lexical", "context_dense"):
                a, b = getattr(got.docs, name), getattr(want.docs, name)
                assert (a is None and b is None) or np.array_equal(a, b), (q.text, name)
            assert np.array_equal(got.org_scores, want.org_scores) and np.array_equal(got.hits, want.hits)
            assert got.order.tolist() == want.order.tolist(), q.text
            assert len(got.order) > 0 or q.text == "zzzz qqqq" or fusion == "bm25"
