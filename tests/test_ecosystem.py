"""The ecosystem map: mean evidence vectors, the 2-D projection, topic clusters and their terms."""

from __future__ import annotations

import numpy as np

from matcher.domain import Organisation
from matcher.ecosystem import build_map, cluster, mean_vectors, project_2d, topic_terms
from matcher.engine import Matcher
from matcher.retrieval.embed import Encoder
from matcher.storage.store import Store


def test_mean_vectors_average_each_organisations_texts_and_skip_missing_ones() -> None:
    vectors = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    # org 5 has texts 10 and 11, org 6 has text 12 and a text without a vector (99), org 7 only that one
    ids, means = mean_vectors(np.array([10, 11, 12, 99, 99]), np.array([5, 5, 6, 6, 7]),
                              np.array([12, 10, 11]), vectors)
    assert ids.tolist() == [5, 6]
    np.testing.assert_allclose(means[0], [0.0, 1 / np.sqrt(2), 1 / np.sqrt(2)], atol=1e-6)  # rows 1 and 2
    np.testing.assert_allclose(means[1], [1.0, 0.0, 0.0], atol=1e-6)
    empty_ids, empty = mean_vectors(np.array([1]), np.array([1]), np.zeros(0, np.int64), np.zeros((0, 3)))
    assert empty_ids.size == 0 and empty.shape == (0, 3)


def test_projection_keeps_neighbours_close_inside_the_unit_square() -> None:
    rng = np.random.default_rng(0)
    a = rng.normal([5, 0, 0, 0], 0.1, (10, 4))
    b = rng.normal([0, 5, 0, 0], 0.1, (10, 4))
    xy = project_2d(np.vstack([a, b]))
    assert xy.shape == (20, 2) and xy.min() >= 0 and xy.max() <= 1
    within = np.linalg.norm(xy[:10] - xy[:10].mean(0), axis=1).max()
    between = np.linalg.norm(xy[:10].mean(0) - xy[10:].mean(0))
    assert between > 5 * within
    assert np.array_equal(project_2d(np.vstack([a, b])), xy)  # deterministic
    assert project_2d(np.zeros((1, 4))).tolist() == [[0.5, 0.5]]
    assert cluster(np.vstack([a, b]), 2).tolist() in ([0] * 10 + [1] * 10, [1] * 10 + [0] * 10)


def test_topic_terms_name_what_sets_a_cluster_apart() -> None:
    docs = ["insulin pump for diabetes, closed-loop insulin dosing", "glucose sensor and insulin pump",
            "magnetic surgical robot for endovascular surgery", "robot arm for minimally invasive surgery"]
    terms = topic_terms(docs, np.array([0, 0, 1, 1]), 2)
    assert terms[0][0] == "insulin" and set(terms[1]) <= {"robot", "surgery", "surgical"}
    assert terms[1][0] in ("robot", "surgery")
    assert topic_terms(["the and of", "we our"], np.array([0, 1])) == {0: [], 1: []}  # only stop words


def test_build_map_places_the_visible_organisations_of_a_region(sqlite_store: Store, encoder: Encoder) -> None:
    orgs = [Organisation(f"Diabetes tech {i}", kind="startup", nuts="NL213",
                         description=f"Closed-loop insulin pump and glucose sensor, model {i}.") for i in range(4)]
    orgs += [Organisation(f"Surgical robotics {i}", kind="university", nuts="NL226",
                          description=f"Magnetic robot for endovascular surgery, version {i}.") for i in range(4)]
    orgs += [Organisation("Far away lab", kind="university", nuts="DE212", description="Insulin pumps."),
             Organisation("Hidden lab", kind="university", nuts="NL213", visibility="staff",
                          description="Confidential insulin research.")]
    sqlite_store.upsert_organisations(orgs)
    Matcher(sqlite_store, encoder).sync()
    found = build_map(sqlite_store, encoder.model_id, ("NL21", "NL22"), visible=("public",), n_topics=2)
    names = {p.name for p in found.points}
    assert len(names) == 8 and "Far away lab" not in names and "Hidden lab" not in names
    topic_of = {p.name: p.topic for p in found.points}
    assert len({topic_of[f"Diabetes tech {i}"] for i in range(4)}) == 1
    assert topic_of["Diabetes tech 0"] != topic_of["Surgical robotics 0"]
    labels = {t.id: t.terms for t in found.topics}
    assert "insulin" in " ".join(labels[topic_of["Diabetes tech 0"]]) + " glucose"  # a diabetes word leads
    assert all(0 <= p.x <= 1 and 0 <= p.y <= 1 for p in found.points)
    assert build_map(sqlite_store, encoder.model_id, ("ZZ9",)).points == []
