"""The ecosystem map: organisations as points in 2-D, near each other when their evidence is alike.

Each organisation is the mean of its stored evidence vectors (the same vectors the index
holds, so nothing is embedded here); PCA projects those means to 2-D, KMeans on the full
vectors groups them into topics, and each topic is labelled with the terms that weigh most
in TF-IDF over its members' evidence texts. Pure functions over arrays, and one function
(:func:`build_map`) that reads what they need from the store.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from matcher.storage.store import Store
from matcher.text import STOPWORDS

EAST_NETHERLANDS: tuple[str, ...] = ("NL21", "NL22")  # Overijssel and Gelderland (NUTS 2)
TEXT_CHARS = 1500  # of each evidence text, for the topic terms
_GENERIC = frozenset(
    "project projects research new development developed develop innovation innovative european eu "
    "approach approaches objective objectives results work partners consortium proposal programme "
    "horizon action activities provide provides including key current make help high state level "
    "improve improved novel solutions solution europe technologies technology knowledge tools methods field "
    "support impact future challenges market sector innovations aim".split())
# scikit-learn (and SciPy under it) is imported inside the functions that fit: a serving worker
# that never draws the map does not pay about a second of start-up for it.


def stop_terms() -> frozenset[str]:
    """scikit-learn's English stop words, ours and the generic words of funded-project texts."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return frozenset(ENGLISH_STOP_WORDS) | STOPWORDS | _GENERIC


@dataclass
class MapPoint:
    organisation_id: int
    name: str
    kind: str
    nuts: str
    x: float  # 0..1, left to right
    y: float  # 0..1, top to bottom
    topic: int


@dataclass
class Topic:
    id: int
    terms: list[str]
    x: float
    y: float
    size: int

    @property
    def label(self) -> str:
        return " · ".join(self.terms) or f"topic {self.id + 1}"


@dataclass
class EcosystemMap:
    points: list[MapPoint] = field(default_factory=list)
    topics: list[Topic] = field(default_factory=list)
    without_vectors: int = 0  # organisations in the selection that have no embedded evidence yet


def mean_vectors(link_text: np.ndarray, link_org: np.ndarray, text_ids: np.ndarray, vectors: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Unit-length mean of each organisation's text vectors.

    Args:
        link_text, link_org: (n_links,) one (text id, organisation id) pair per evidence row.
        text_ids: (n_texts,) ids of the rows of ``vectors`` (n_texts, dim).

    Returns:
        (organisation ids sorted, (n_orgs, dim) float32); organisations whose texts have no
        vector are left out.

    >>> ids, m = mean_vectors(np.array([1, 2, 2]), np.array([7, 7, 9]), np.array([1, 2]),
    ...                       np.array([[1.0, 0.0], [0.0, 1.0]]))
    >>> ids.tolist(), np.round(m.astype(float), 3).tolist()
    ([7, 9], [[0.707, 0.707], [0.0, 1.0]])
    """
    dim = vectors.shape[1] if vectors.ndim == 2 else 0
    if not len(text_ids) or not len(link_text):
        return np.zeros(0, np.int64), np.zeros((0, dim), np.float32)
    order = np.argsort(text_ids)
    sorted_ids = text_ids[order]
    pos = np.minimum(np.searchsorted(sorted_ids, link_text), len(sorted_ids) - 1)
    ok = sorted_ids[pos] == link_text
    rows, orgs = order[pos[ok]], link_org[ok]
    org_ids, inverse = np.unique(orgs, return_inverse=True)
    sums = np.zeros((len(org_ids), dim), np.float64)
    np.add.at(sums, inverse, vectors[rows])
    norms = np.linalg.norm(sums, axis=1, keepdims=True)
    return org_ids.astype(np.int64), (sums / np.where(norms > 0, norms, 1.0)).astype(np.float32)


def project_2d(x: np.ndarray, random_state: int = 0) -> np.ndarray:
    """(n, dim) -> (n, 2) with PCA, scaled uniformly into the unit square (aspect kept), y downwards."""
    n = len(x)
    if n == 0:
        return np.zeros((0, 2))
    if n == 1:
        return np.full((1, 2), 0.5)
    from sklearn.decomposition import PCA

    xy = PCA(n_components=2, random_state=random_state).fit_transform(x.astype(np.float64))
    xy[:, 1] = -xy[:, 1]
    lo, hi = xy.min(axis=0), xy.max(axis=0)
    span = float((hi - lo).max()) or 1.0
    return (xy - lo) / span + (1.0 - (hi - lo) / span) / 2.0


def cluster(x: np.ndarray, n_topics: int, random_state: int = 0) -> np.ndarray:
    """Topic number (0..n_topics-1) of each row, from KMeans; all zeros when there are too few rows."""
    k = min(n_topics, len(x))
    if k < 2:
        return np.zeros(len(x), np.int64)
    from sklearn.cluster import KMeans

    return KMeans(n_clusters=k, n_init=4, random_state=random_state).fit_predict(x).astype(np.int64)


def topic_terms(documents: Sequence[str], topics: np.ndarray, n_terms: int = 3) -> dict[int, list[str]]:
    """The ``n_terms`` heaviest TF-IDF terms of each topic (mean over its documents, one per organisation).

    >>> topic_terms(["insulin pump insulin", "insulin sensor", "surgical robot", "robot magnet"],
    ...             np.array([0, 0, 1, 1]), 1)
    {0: ['insulin'], 1: ['robot']}
    """
    if not len(documents):
        return {}
    from sklearn.feature_extraction.text import TfidfVectorizer

    vec = TfidfVectorizer(stop_words=sorted(stop_terms()), token_pattern=r"(?u)\b[^\W\d_][\w\-]{2,}\b",
                          sublinear_tf=True, max_df=0.6 if len(documents) >= 10 else 1.0)
    try:
        m = vec.fit_transform(documents)
    except ValueError:  # nothing but stop words
        return {int(c): [] for c in np.unique(topics)}
    vocab = np.asarray(vec.get_feature_names_out())
    out = {}
    for c in np.unique(topics):
        weights = np.asarray(m[topics == c].mean(axis=0)).ravel()
        top = np.argsort(-weights, kind="stable")[:n_terms]
        out[int(c)] = [str(vocab[i]) for i in top if weights[i] > 0]
    return out


def build_map(store: Store, model_id: str, nuts: Sequence[str] = EAST_NETHERLANDS,
              visible: Sequence[str] | None = None, n_topics: int | None = None) -> EcosystemMap:
    """The map of the organisations whose NUTS code starts with one of ``nuts`` (all when empty).

    Args:
        visible: organisation visibility levels to include (all when None); the caller's levels.
        n_topics: number of topic clusters; by default about sqrt(n / 4), between 2 and 8.
    """
    prefixes = tuple(p.strip().upper() for p in nuts if p.strip())
    chosen = {r[0]: r for r in store.organisation_table()
              if (not prefixes or (r[3] or "").upper().startswith(prefixes)) and (visible is None or r[5] in visible)}
    link_text, link_org = store.evidence_links()
    keep = np.isin(link_org, np.fromiter(chosen, np.int64, len(chosen)))
    link_text, link_org = link_text[keep], link_org[keep]
    text_ids, vecs = store.text_vectors(model_id, np.unique(link_text).tolist())
    org_ids, means = mean_vectors(link_text, link_org, text_ids, vecs)
    if not len(org_ids):
        return EcosystemMap(without_vectors=len(chosen))
    k = n_topics or int(np.clip(round(np.sqrt(len(org_ids) / 4)), 2, 8))
    xy, topics = project_2d(means), cluster(means, k)
    texts = store.texts(np.unique(link_text).tolist())
    docs: dict[int, list[str]] = {}
    for tid, oid in zip(link_text.tolist(), link_org.tolist()):
        docs.setdefault(oid, []).append(texts[tid][1][:TEXT_CHARS] if tid in texts else "")
    terms = topic_terms([" ".join(docs.get(int(o), [])) for o in org_ids], topics)
    names = store.get_organisations(org_ids.tolist())
    points = [MapPoint(int(o), names[int(o)].name, chosen[int(o)][1], chosen[int(o)][3] or "",
                       round(float(p[0]), 4), round(float(p[1]), 4), int(c))
              for o, p, c in zip(org_ids, xy, topics)]
    found = [Topic(int(c), terms.get(int(c), []), float(xy[topics == c, 0].mean()),
                   float(xy[topics == c, 1].mean()), int((topics == c).sum())) for c in np.unique(topics)]
    return EcosystemMap(points, found, without_vectors=len(chosen) - len(org_ids))
