"""The learned second stage: a scikit-learn model over :data:`matcher.ranking.features.FEATURES`.

Follows scikit-learn conventions: ``__init__`` stores hyper-parameters, ``fit`` returns
``self``, learned attributes end in ``_``, and scoring before ``fit`` raises
:class:`matcher.errors.NotFittedError`. Saved as a folder with ``model.joblib`` and a
``card.json`` (features, training data, date, library versions, evaluation figures);
loading refuses a card whose features differ from the code's.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import numpy as np

from matcher.errors import IndexMismatch, NotFittedError
from matcher.ranking.features import FEATURES
from matcher.storage.artifacts import atomic_folder

CARD_VERSION = 1
log = logging.getLogger(__name__)
DEFAULT_DIR = Path(__file__).resolve().parents[2] / "models" / "ranker"


def load_default(setting: str, encoder_id: str, defer: bool = False) -> Ranker | None:
    """The ranker a setting asks for: ``off``; ``auto`` (the shipped one, when its card says it
    beat the unlearned fusion on a task and it was trained with this encoder; it is then used for
    the tasks where it won); or a folder path (used for every task).

    With ``defer`` (the service), the shipped model itself is read later, in a background thread: its
    card is checked now, but importing scikit-learn and SciPy to unpickle it (about a second) does not
    hold up the start. The read starts at :meth:`Ranker.prefetch` (the service calls it once it is
    ready) or at the first query that needs the model, which waits for it; if it cannot be read, the
    service ranks without it, as when it is refused at start (:meth:`Ranker.ready`). A folder
    named by the setting is always read at once, so a broken one stops the start."""
    if setting == "off":
        return None
    folder = DEFAULT_DIR if setting == "auto" else Path(setting)
    if setting == "auto" and not (folder / "card.json").exists():
        return None
    if setting != "auto":
        return Ranker.load(folder)[0]
    try:
        ranker, card = Ranker.load(folder, defer=defer)
    except IndexMismatch as exc:  # a stale or unreadable shipped model must not stop the service
        log.warning("not using the shipped ranker: %s", exc)
        return None
    tasks = {t for t, won in (card.get("use_by_default") or {}).items() if won}
    if not tasks or card.get("training", {}).get("encoder") != encoder_id:
        return None
    ranker.tasks_ = tasks
    return ranker


class Ranker:
    """Pointwise relevance model: P(candidate joins the consortium | features)."""

    tasks_: set[str] = {"cold", "seeded"}  # where the service uses it: cold (no seed) and seeded queries

    def __init__(self, model: str = "gbt", max_iter: int = 300, learning_rate: float = 0.05,
                 max_leaf_nodes: int = 15, l2: float = 1.0, random_state: int = 0) -> None:
        self.model = model
        self.max_iter = max_iter
        self.learning_rate = learning_rate
        self.max_leaf_nodes = max_leaf_nodes
        self.l2 = l2
        self.random_state = random_state

    def _estimator(self) -> Any:
        if self.model == "gbt":
            from sklearn.ensemble import HistGradientBoostingClassifier

            return HistGradientBoostingClassifier(max_iter=self.max_iter, learning_rate=self.learning_rate,
                                                  max_leaf_nodes=self.max_leaf_nodes, l2_regularization=self.l2,
                                                  early_stopping=False, random_state=self.random_state)
        if self.model == "logreg":
            from sklearn.linear_model import LogisticRegression
            from sklearn.pipeline import make_pipeline
            from sklearn.preprocessing import StandardScaler

            return make_pipeline(StandardScaler(), LogisticRegression(C=1.0 / self.l2, max_iter=2000))
        raise ValueError(f"unknown ranker model {self.model!r}: expected gbt or logreg")

    def fit(self, x: np.ndarray, y: np.ndarray, sample_weight: np.ndarray | None = None) -> Ranker:
        """Fit on feature rows ``x`` (n, len(FEATURES)) and 0/1 labels ``y``."""
        if x.shape[1] != len(FEATURES):
            raise ValueError(f"expected {len(FEATURES)} features, got {x.shape[1]}")
        est = self._estimator()
        if self.model == "logreg" and sample_weight is not None:
            est.fit(x, y, logisticregression__sample_weight=sample_weight)
        else:
            est.fit(x, y, sample_weight=sample_weight)
        self.estimator_ = est
        self.features_ = list(FEATURES)
        return self

    def score(self, x: np.ndarray) -> np.ndarray:
        """Relevance scores (higher is better) for feature rows ``x``; shape (n,)."""
        if not self.ready():
            raise NotFittedError("the ranker is not fitted: call fit() or Ranker.load()")
        if len(x) == 0:
            return np.zeros(0)
        return np.asarray(self.estimator_.predict_proba(x)[:, 1], dtype=np.float64)

    def contributions(self, x: np.ndarray, reference: np.ndarray | None = None) -> np.ndarray:
        """(n, len(FEATURES)): how much each feature raised each score, measured as the score's drop
        when that feature is set to ``reference`` (default: the rows' median), a cheap model-agnostic
        attribution. All features of all rows are scored in one batch."""
        n, f = x.shape
        ref = np.median(x, axis=0) if reference is None else reference
        if n == 0:
            return np.zeros((0, f))
        variants = np.repeat(x[None, :, :], f, axis=0)  # (f, n, f)
        variants[np.arange(f), :, np.arange(f)] = ref[:, None]
        base = self.score(x)
        return (base[None, :] - self.score(variants.reshape(f * n, f)).reshape(f, n)).T

    # ---- persistence --------------------------------------------------------------
    def save(self, folder: Path, card: dict[str, Any]) -> None:
        """Write ``model.joblib`` and ``card.json`` atomically (see :mod:`matcher.storage.artifacts`)."""
        import joblib
        import sklearn

        if not hasattr(self, "estimator_"):
            raise NotFittedError("cannot save an unfitted ranker")
        with atomic_folder(Path(folder)) as tmp:
            joblib.dump(self.estimator_, tmp / "model.joblib")
            full = {"card_version": CARD_VERSION, "features": self.features_, "model": self.model,
                    "hyper_parameters": {k: getattr(self, k) for k in ("max_iter", "learning_rate",
                                                                        "max_leaf_nodes", "l2", "random_state")},
                    "sklearn": sklearn.__version__, "numpy": np.__version__,
                    "created_at": dt.datetime.now(dt.timezone.utc).isoformat(), **card}
            (tmp / "card.json").write_text(json.dumps(full, indent=2))

    def prefetch(self) -> None:
        """Start reading a deferred model (``load(defer=True)``) in the background, if not started."""
        pending: _Deferred | None = self.__dict__.get("_pending")
        if pending is not None:
            pending.start()

    def ready(self) -> bool:
        """Whether the model can score: fitted or loaded, after waiting for a deferred load
        (``load(defer=True)``) to finish. False when that load failed (logged once)."""
        pending: _Deferred | None = self.__dict__.get("_pending")
        if pending is not None and not hasattr(self, "estimator_"):
            try:
                self.estimator_ = pending.start().result()
            except IndexMismatch as exc:
                if not self.__dict__.get("_warned"):
                    self._warned = True
                    log.warning("not using the ranker: %s", exc)
                return False
        return hasattr(self, "estimator_")

    @classmethod
    def load(cls, folder: Path, defer: bool = False) -> tuple[Ranker, dict[str, Any]]:
        """Load a saved ranker; :class:`IndexMismatch` when its card's features differ from the code's.

        With ``defer``, the card is checked now and the model file is read later in a background thread
        (:meth:`prefetch`); :meth:`ready` waits for it (and is False if it cannot be read)."""
        folder = Path(folder)
        try:
            card = json.loads((folder / "card.json").read_text())
        except (OSError, ValueError) as exc:
            raise IndexMismatch(f"no readable ranker card in {folder}: {exc}") from exc
        if card.get("card_version") != CARD_VERSION:
            raise IndexMismatch(f"the ranker card in {folder} has version {card.get('card_version')!r}, this "
                                f"version reads {CARD_VERSION}; retrain it with `matcher train-ranker`")
        if card.get("features") != list(FEATURES):
            raise IndexMismatch(f"the ranker in {folder} was trained on other features; retrain it "
                                "with `matcher train-ranker`")
        ranker = cls(model=card.get("model", "gbt"), **card.get("hyper_parameters", {}))
        if defer:
            ranker._pending = _Deferred(_read_estimator, folder)
        else:
            ranker.estimator_ = _read_estimator(folder)
        ranker.features_ = list(card["features"])
        ranker.card_ = card
        return ranker, card


def _read_estimator(folder: Path) -> Any:
    import joblib  # with scikit-learn and SciPy under it: about a second, so only when a model is read

    try:
        return joblib.load(folder / "model.joblib")
    except Exception as exc:  # missing, truncated, or pickled by an incompatible scikit-learn
        raise IndexMismatch(f"the ranker in {folder} cannot be loaded ({exc}); retrain it with "
                            "`matcher train-ranker`") from exc


class _Deferred:
    """``fn(*args)`` run once, in a daemon thread started by the first :meth:`start`."""

    def __init__(self, fn: Any, *args: Any) -> None:
        self._fn, self._args = fn, args
        self._future: Future[Any] | None = None
        self._lock = threading.Lock()

    def start(self) -> Future[Any]:
        """The future of the result (or exception), the thread started if it was not yet."""
        with self._lock:
            if self._future is None:
                self._future = Future()
                threading.Thread(target=self._run, args=(self._future,), name="ranker-load", daemon=True).start()
            return self._future

    def _run(self, out: Future[Any]) -> None:
        try:
            out.set_result(self._fn(*self._args))
        except BaseException as exc:  # handed to whoever waits for the result
            out.set_exception(exc)
