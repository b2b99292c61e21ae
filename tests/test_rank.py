"""The learned ranker on real consortia: features, training, saving, refusing stale cards, reasons, feedback."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from matcher.access import LOCAL_ADMIN
from matcher.domain import Challenge
from matcher.engine import Matcher, Query
from matcher.errors import IndexMismatch, NotFittedError
from matcher.evaluation import evaluate
from matcher.evaluation.train import fit_ranker, query_examples
from matcher.ingest.cordis import CordisData
from matcher.queries import suggest_for_challenge
from matcher.ranking import features
from matcher.ranking.explain import reasons
from matcher.ranking.pipeline import Pipeline
from matcher.ranking.rank import Ranker
from matcher.ranking.rerank import candidates
from matcher.retrieval import fuse
from matcher.retrieval.embed import Encoder
from matcher.retrieval.retrieve import RankingConfig, retrieve
from matcher.storage.keys import record_feedback
from matcher.storage.store import Store


@pytest.fixture(scope="module")
def tiny(health: CordisData, encoder: Encoder, tmp_path_factory: pytest.TempPathFactory) -> evaluate.Evaluation:
    """Collaborative projects of early 2022 as catalogue, those of the following months as queries."""
    window = health.subset(lambda p: "2022-01-01" <= p["start_date"] < "2022-09-01"
                           and int(p["n_partners"] or 0) >= 3)
    tmp = tmp_path_factory.mktemp("rank")
    split = evaluate.Split.make(window, None, "2022-06-01")
    return evaluate.prepare(split, encoder, Store(f"sqlite:///{tmp / 'cache.db'}"), workdir=tmp)


@pytest.fixture(scope="module")
def ranker(tiny: evaluate.Evaluation) -> Ranker:
    return fit_ranker(query_examples(tiny))


def test_graph_ties_match_the_memberships(tiny: evaluate.Evaluation) -> None:
    m = tiny.matcher
    snap = m.upkeep.current()
    cat, graph = snap.catalogue, snap.graph
    seed = int(np.argmax(cat.activity))
    org_id = int(cat.org_ids[seed])
    ties = graph.ties(seed)
    expected = m.store.partners_of(org_id)  # the slow, obvious SQL
    got = {int(cat.org_ids[p]): int(n) for p, n in enumerate(ties.shared) if n > 0}
    assert got == expected and ties.shared[seed] == 0
    assert not (ties.two_hop & (ties.shared > 0)).any() and not ties.two_hop[seed]


def test_feature_rows_have_the_documented_shape_and_meaning(tiny: evaluate.Evaluation) -> None:
    m = tiny.matcher
    i, q = next((i, q) for i, q in enumerate(tiny.queries) if q.coordinator is not None)
    query = Query(q.text, 10, seed=q.coordinator)
    snap = m.upkeep.current()
    r = retrieve(snap, query, tiny.query_vectors[i], RankingConfig())
    cands, ties, seed = candidates(r, snap, RankingConfig().candidates)
    x = features.candidate_matrix(snap.catalogue, r.docs, r.org_scores, cands, ties, seed)
    col = {name: i for i, name in enumerate(features.FEATURES)}
    assert x.shape == (len(cands), len(features.FEATURES)) and np.isfinite(x).all()
    assert (x[:, col["seeded"]] == 1).all()
    kinds = x[:, [col[f"kind_{k}"] for k in ("startup", "sme", "large_company", "university", "research_institute",
                                             "hospital", "care_institution", "public_body", "other")]]
    assert (kinds.sum(axis=1) == 1).all()  # one kind each
    activity = snap.catalogue.activity[cands]
    assert np.allclose(np.expm1(x[:, col["activity_log"]]), activity)
    assert ties is not None
    assert np.allclose(np.expm1(x[:, col["seed_shared_log"]]), ties.shared[cands])


def test_an_unfitted_ranker_says_so() -> None:
    with pytest.raises(NotFittedError):
        Ranker().score(np.zeros((1, len(features.FEATURES))))


def test_the_ranker_learns_something_real(tiny: evaluate.Evaluation, ranker: Ranker) -> None:
    """Trained on these queries, it must rank their members above the unlearned fusion does."""
    tiny.ranker = ranker
    fusion = tiny.score(tiny.rankings("fusion", "seeded"), "seeded")
    learned = tiny.score(tiny.rankings("matcher", "seeded"), "seeded")
    assert learned["recall@10"] > fusion["recall@10"]


def test_the_evaluation_runs_its_methods_without_changing_the_matcher(tiny: evaluate.Evaluation,
                                                                     ranker: Ranker) -> None:
    before = tiny.matcher.pipeline
    tiny.ranker = ranker
    bm25, learned = tiny.rankings("bm25", "seeded"), tiny.rankings("matcher", "seeded")
    assert tiny.matcher.pipeline is before and bm25 != learned
    assert tiny.pipeline("matcher").ranker is ranker and tiny.pipeline("fusion").ranker is None


def test_saved_ranker_round_trips_and_refuses_other_features(ranker: Ranker, tmp_path: Path) -> None:
    ranker.save(tmp_path / "r", {"use_by_default": False})
    again, card = Ranker.load(tmp_path / "r")
    x = np.random.default_rng(0).normal(size=(5, len(features.FEATURES)))
    assert np.allclose(again.score(x), ranker.score(x)) and card["features"] == list(features.FEATURES)
    (tmp_path / "r" / "card.json").write_text(json.dumps({**card, "card_version": card["card_version"] + 1}))
    with pytest.raises(IndexMismatch, match="card .* has version"):
        Ranker.load(tmp_path / "r")
    card["features"] = card["features"][:-1]
    (tmp_path / "r" / "card.json").write_text(json.dumps(card))
    with pytest.raises(IndexMismatch, match="other features"):
        Ranker.load(tmp_path / "r")


def test_the_shipped_ranker_matches_the_code() -> None:
    from matcher.ranking.rank import DEFAULT_DIR

    if not (DEFAULT_DIR / "card.json").exists():
        pytest.skip("no ranker shipped under models/ranker")
    _ranker, card = Ranker.load(DEFAULT_DIR)
    assert card["evaluation"]["figures"]["cold"]["fusion"]["recall@50"] > 0


def test_suggestions_carry_the_learned_reasons(tiny: evaluate.Evaluation, ranker: Ranker) -> None:
    m = tiny.matcher
    m.pipeline = Pipeline(ranker=ranker)
    q = next(q for q in tiny.queries if q.coordinator is not None)
    got = m.search(Query(q.text, 5, seed=q.coordinator))
    assert all("ranker" in s.components and s.explanation["reasons"] for s in got)
    assert [s.score for s in got] == sorted((s.score for s in got), reverse=True)


def test_reasons_in_words() -> None:
    names = ["seed_shared_log", "seed_two_hop", "activity_log", "years_since_latest"]
    row = [math.log1p(3), 0.0, math.log1p(1), 1.0]
    assert reasons(names, row, [0.3, 0.0, -0.1, 0.05], "Radboudumc", 2024) == [
        "worked with Radboudumc in 3 projects", "recent: latest evidence from 2023"]


def test_verdicts_reorder_a_ranking() -> None:
    order = np.array([4, 2, 7, 1, 9])
    assert fuse.apply_verdicts(order, np.array([9]), np.array([4])).tolist() == [9, 2, 7, 1, 4]
    assert fuse.apply_verdicts(order, np.array([], int), np.array([], int)).tolist() == order.tolist()


def test_feedback_moves_the_ranking_the_way_it_asked(small_matcher: Matcher) -> None:
    store = small_matcher.store
    cid = store.save_challenge(Challenge("Vaccine trials", "Clinical trials of new vaccines against infections."))
    before = [s.organisation.id for s in suggest_for_challenge(small_matcher, cid, 10)]
    liked, disliked = before[6], before[0]
    record_feedback(store, LOCAL_ADMIN, liked, "relevant", cid)
    record_feedback(store, LOCAL_ADMIN, disliked, "not_relevant", cid)
    after = suggest_for_challenge(small_matcher, cid, 10)
    ids = [s.organisation.id for s in after]
    assert ids[0] == liked and disliked not in ids
    assert after[0].explanation["feedback"] == "relevant"
    assert [s.organisation.id for s in suggest_for_challenge(small_matcher, store.save_challenge(
        Challenge("Vaccine trials", "Clinical trials of new vaccines against infections.")), 10)] == before


def test_verdicts_become_weighted_training_examples(tiny: evaluate.Evaluation, tmp_path: Path) -> None:
    from matcher.domain import Organisation
    from matcher.evaluation.train import feedback_examples
    from matcher.storage.keys import feedback_for_training

    service = Store(f"sqlite:///{tmp_path / 'service.db'}")
    known = next(o for o in tiny.matcher.store.list_organisations(0, 50)[0] if o.external_id)
    [judged, manual] = service.upsert_organisations([
        Organisation(known.name, kind=known.kind, external_id=known.external_id),
        Organisation("Typed In By Hand BV", kind="sme", description="No external id.")])
    cid = service.save_challenge(Challenge("Vaccine trials", "Clinical trials of new vaccines."))
    record_feedback(service, LOCAL_ADMIN, judged, "partnered", cid)
    record_feedback(service, LOCAL_ADMIN, judged, "not_relevant", None, query="cheese ripening")
    record_feedback(service, LOCAL_ADMIN, manual, "relevant", cid)
    rows = feedback_for_training(service)
    assert sorted((r["query"], r["verdict"]) for r in rows) == [
        ("Vaccine trials. Clinical trials of new vaccines.", "partnered"), ("cheese ripening", "not_relevant")]
    x, y, w = feedback_examples(tiny, rows).arrays()
    assert x.shape == (2, len(features.FEATURES))
    assert sorted(zip(y.tolist(), w.tolist())) == [(0, 2.0), (1, 3.0)]


def test_a_broken_ranker_file_is_refused_and_the_service_falls_back(ranker: Ranker, tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from matcher.ranking import rank

    ranker.save(tmp_path / "r", {"use_by_default": {"cold": True, "seeded": True},
                                 "training": {"encoder": "some-encoder"}})
    (tmp_path / "r" / "model.joblib").write_bytes(b"not a model")
    with pytest.raises(IndexMismatch, match="cannot be loaded"):
        rank.load_default(str(tmp_path / "r"), "some-encoder")
    monkeypatch.setattr(rank, "DEFAULT_DIR", tmp_path / "r")
    assert rank.load_default("auto", "some-encoder") is None
    assert rank.load_default("off", "some-encoder") is None


def test_feedback_moves_a_learned_ranking_too(tiny: evaluate.Evaluation, ranker: Ranker) -> None:
    m = tiny.matcher
    m.pipeline = Pipeline(ranker=ranker)
    q = next(q for q in tiny.queries if q.coordinator is not None)
    cid = m.store.save_challenge(Challenge("Learned feedback", q.text[:2000], posed_by=q.coordinator))
    before = suggest_for_challenge(m, cid, 10)
    assert all("ranker" in s.components for s in before)
    liked, disliked = before[7].organisation.id, before[0].organisation.id
    record_feedback(m.store, LOCAL_ADMIN, liked, "relevant", cid)  # type: ignore[arg-type]
    record_feedback(m.store, LOCAL_ADMIN, disliked, "not_relevant", cid)  # type: ignore[arg-type]
    after = suggest_for_challenge(m, cid, 10)
    assert after[0].organisation.id == liked and disliked not in [s.organisation.id for s in after]
    assert after[0].explanation["reasons"] and after[0].components["ranker"] == before[7].components["ranker"]


def test_a_deferred_ranker_is_read_later_and_a_broken_one_is_not_used(tiny: evaluate.Evaluation, ranker: Ranker,
                                                                        tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from matcher.ranking import rank

    card = {"use_by_default": {"cold": True, "seeded": True}, "training": {"encoder": "some-encoder"}}
    ranker.save(tmp_path / "good", card)
    ranker.save(tmp_path / "bad", card)
    (tmp_path / "bad" / "model.joblib").write_bytes(b"not a model")
    x = np.random.default_rng(0).normal(size=(5, len(features.FEATURES)))
    monkeypatch.setattr(rank, "DEFAULT_DIR", tmp_path / "good")
    good = rank.load_default("auto", "some-encoder", defer=True)
    assert good is not None and "estimator_" not in vars(good)  # the card is read, the model not yet
    good.prefetch()
    assert good.ready() and np.allclose(good.score(x), ranker.score(x))
    monkeypatch.setattr(rank, "DEFAULT_DIR", tmp_path / "bad")
    bad = rank.load_default("auto", "some-encoder", defer=True)  # refused only when it is read
    assert bad is not None and not bad.ready() and not bad.ready()
    with pytest.raises(NotFittedError):
        bad.score(x)
    m = tiny.matcher
    seeds = [int(i) for i in m.catalogue_.org_ids[:3]]  # type: ignore[union-attr]
    qvec = m.query_vectors(["clinical trial of a vaccine"])[0]
    for seed in seeds:  # a seeded question: where the ranker would apply, it is skipped
        q = Query("clinical trial of a vaccine", k=10, seed=seed)
        with_bad = m.rank_with_vector(q, qvec, explain=False, pipeline=Pipeline(ranker=bad))
        without = m.rank_with_vector(Query("clinical trial of a vaccine", k=10, seed=seed), qvec, explain=False,
                                     pipeline=Pipeline())
        assert [s.organisation.id for s in with_bad] == [s.organisation.id for s in without]


def _full_candidate_matrix(cat, docs, org_scores, cands, ties, seed) -> np.ndarray:  # type: ignore[no-untyped-def]
    """The slow reference: every feature for every organisation, then the candidates' rows (as before issue 15)."""
    from matcher.domain import KIND_VALUES

    fin = lambda x, floor=features.FLOOR: np.where(np.isfinite(x), x, floor)  # noqa: E731
    n = cat.n_orgs
    dense_best, _ = fuse.aggregate(docs.dense, cat.link_doc, cat.link_org, n, 1)
    dense_sum3, dense_n = fuse.aggregate(docs.dense, cat.link_doc, cat.link_org, n, 3)
    lex_best, _ = fuse.aggregate(docs.lexical, cat.link_doc, cat.link_org, n, 1)
    top = np.zeros(len(docs.fused), dtype=bool)
    finite = np.flatnonzero(np.isfinite(docs.fused))
    top[finite[np.argsort(-docs.fused[finite], kind="stable")[:features.TOP_DOCS]]] = True
    hits = np.bincount(cat.link_org[top[cat.link_doc]], minlength=n)
    rank = np.empty(n)
    rank[np.argsort(-fin(org_scores, -1e9), kind="stable")] = np.arange(1, n + 1)
    scores = np.column_stack([fin(org_scores), np.log1p(rank), fin(dense_best),
                              fin(dense_sum3 / np.maximum(np.minimum(dense_n, 3), 1)),
                              np.log1p(np.maximum(fin(lex_best, 0.0), 0.0)), np.log1p(hits)])
    latest = cat.latest
    years = np.where(latest > 0, (latest.max(initial=0) - latest) / 365.25, 10.0)
    profile = np.column_stack([np.log1p(cat.activity), years,
                               *[(cat.kinds == k).astype(np.float64) for k in KIND_VALUES]])
    if ties is None or seed is None:
        seeded = np.column_stack([np.zeros(n), np.zeros(n), np.full(n, 10.0), np.zeros(n), np.zeros(n)])
    else:
        since = np.where(ties.last_year > 0, ties.last_year.max(initial=0) - ties.last_year, 10.0)
        seeded = np.column_stack([np.ones(n), np.log1p(ties.shared), since, ties.two_hop.astype(np.float64),
                                  (cat.countries == cat.countries[seed]).astype(np.float64)])
    return np.hstack([scores, profile, seeded])[cands]


def test_candidate_features_equal_those_computed_for_every_organisation(tiny: evaluate.Evaluation) -> None:
    m = tiny.matcher
    snap = m.upkeep.current()
    rng = np.random.default_rng(0)
    for i, q in list(enumerate(tiny.queries))[:12]:
        query = Query(q.text, 10, seed=q.coordinator)
        r = retrieve(snap, query, tiny.query_vectors[i], RankingConfig())
        cands, ties, seed = candidates(r, snap, RankingConfig().candidates)
        unscored = np.flatnonzero(~np.isfinite(r.org_scores))  # as training adds gold partners not retrieved
        cands = np.union1d(cands, rng.choice(unscored, min(20, len(unscored)), replace=False))
        got = features.candidate_matrix(snap.catalogue, r.docs, r.org_scores, cands, ties, seed)
        want = _full_candidate_matrix(snap.catalogue, r.docs, r.org_scores, cands, ties, seed)
        assert np.array_equal(got, want), q.text


def test_the_ranker_is_used_only_where_it_wins_on_the_mean_over_the_splits() -> None:
    from matcher.evaluation.train import judge_over_splits

    def card(date: str, fusion: tuple[float, float], ranker: tuple[float, float]) -> dict:
        figs = {"fusion": {"recall@50": fusion[0], "ndcg@10": fusion[1]},
                "matcher": {"recall@50": ranker[0], "ndcg@10": ranker[1]}}
        won = ranker[0] >= fusion[0] and ranker[1] >= fusion[1]
        return {"evaluation": {"split_date": date, "queries": 100, "figures": {"seeded": figs, "cold": figs},
                               "rule": "r"}, "use_by_default": {"seeded": won, "cold": won}}

    last = card("2024-04-01", (0.27, 0.11), (0.28, 0.12))  # wins on its own split
    judged = judge_over_splits(last, [card("2023-10-01", (0.25, 0.11), (0.26, 0.09))])  # loses nDCG@10 here
    assert last["use_by_default"]["seeded"] and not judged["use_by_default"]["seeded"]  # mean nDCG@10 0.105 < 0.11
    assert [s["split_date"] for s in judged["evaluation"]["splits"]] == ["2023-10-01", "2024-04-01"]
    assert judged["evaluation"]["rule"].endswith("on the mean over the splits")
    both = judge_over_splits(last, [card("2023-10-01", (0.25, 0.11), (0.26, 0.115))])
    assert both["use_by_default"]["seeded"]
