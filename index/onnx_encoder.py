"""The same sentence-transformers model, exported once to ONNX from its local weights and run by onnxruntime.

Export needs torch and transformers (already there for the torch backend); serving needs only onnxruntime and
tokenizers, so a served store neither imports torch nor holds its model in memory. The graph ends with the
model's mean pooling and L2 normalisation, so one run gives the unit vectors `encode` returns.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path
from typing import Iterator

import numpy as np
from filelock import FileLock

log = logging.getLogger(__name__)

INPUTS = ("input_ids", "attention_mask", "token_type_ids")
OPSET = 17


class OnnxBackendError(RuntimeError):
    """The model cannot run on the ONNX backend; the message says what to do instead."""


def model_key(model_dir: Path) -> str:
    """Changes when the weights or the config change, so a stale export is never reused."""
    digest = hashlib.sha256()
    for name in ("config.json", "sentence_bert_config.json", "1_Pooling/config.json"):
        path = model_dir / name
        if path.exists():
            digest.update(path.read_bytes())
    for weights in sorted(model_dir.glob("*.safetensors")) + sorted(model_dir.glob("*.bin")):
        stat = weights.stat()
        digest.update(f"{weights.name}:{stat.st_size}".encode())
    return digest.hexdigest()[:16]


def check_mean_pooling(model_dir: Path) -> None:
    pooling = model_dir / "1_Pooling" / "config.json"
    config = json.loads(pooling.read_text()) if pooling.exists() else {}
    if not config.get("pooling_mode_mean_tokens"):
        raise OnnxBackendError(
            f"the ONNX backend runs mean-pooling models only and {model_dir} is not one; set NEWSQA_EMBEDDING_BACKEND=torch"
        )


def export_onnx(model_dir: Path, out: Path) -> None:
    """Trace the transformer plus mean pooling and normalisation into one fp32 ONNX graph."""
    import torch
    from transformers import AutoModel

    bert = AutoModel.from_pretrained(str(model_dir))
    bert.eval()

    class Pooled(torch.nn.Module):
        def __init__(self, model):
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask, token_type_ids):
            hidden = self.model(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids).last_hidden_state
            weights = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * weights).sum(1) / weights.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, dim=-1)

    dummy = tuple(torch.ones((2, 8), dtype=torch.long) for _ in INPUTS)
    with torch.no_grad():
        # The TorchScript exporter: it needs only the `onnx` package, not onnxscript.
        torch.onnx.export(
            Pooled(bert).eval(),
            dummy,
            str(out),
            input_names=list(INPUTS),
            output_names=["embedding"],
            dynamic_axes={name: {0: "batch", 1: "tokens"} for name in INPUTS} | {"embedding": {0: "batch"}},
            opset_version=OPSET,
            dynamo=False,
        )


def quantize_int8(fp32: Path, out: Path) -> None:
    """Dynamic int8 weights for the matrix products only (embeddings and layer norms stay fp32)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(str(fp32), str(out), weight_type=QuantType.QInt8, per_channel=True, op_types_to_quantize=["MatMul"])


def built_model(model_dir: Path, cache_dir: Path, int8: bool) -> Path:
    """The ONNX file for this model, exported (and quantized) on first use into cache_dir, then reused."""
    check_mean_pooling(model_dir)
    folder = Path(cache_dir) / f"{model_dir.name}-{model_key(model_dir)}"
    target = folder / ("model-int8.onnx" if int8 else "model.onnx")
    if target.exists():
        return target
    folder.mkdir(parents=True, exist_ok=True)
    with FileLock(str(folder / "build.lock")):
        if target.exists():  # another process built it while we waited
            return target
        fp32 = folder / "model.onnx"
        if not fp32.exists():
            log.info("exporting %s to ONNX in %s", model_dir, folder)
            tmp = folder / f"model.{os.getpid()}.tmp.onnx"
            export_onnx(model_dir, tmp)
            tmp.replace(fp32)
        if int8:
            log.info("quantizing %s to int8", fp32)
            tmp = folder / f"model-int8.{os.getpid()}.tmp.onnx"
            quantize_int8(fp32, tmp)
            tmp.replace(target)
    return target


class OnnxEncoder:
    """Unit vectors for texts, batch by batch in order of length so batches carry little padding."""

    def __init__(self, model_dir: Path, onnx_path: Path, threads: int = 0):
        from tokenizers import Tokenizer

        config_path = model_dir / "sentence_bert_config.json"
        config = json.loads(config_path.read_text()) if config_path.exists() else {}
        self.max_seq_length = int(config.get("max_seq_length", 256))
        self.tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self.tokenizer.enable_truncation(self.max_seq_length)
        self.tokenizer.enable_padding(pad_id=self.tokenizer.token_to_id("[PAD]") or 0)
        self._open(onnx_path, threads)

    def _open(self, onnx_path: Path, threads: int) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # Every batch has its own shape; the arena would keep the largest buffers of each (2 GB while indexing).
        options.enable_cpu_mem_arena = False
        # Idle pool threads would spin on a core; on a shared machine that starves the other thread.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        if threads:
            options.intra_op_num_threads = threads
        self.session = ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
        self.dimension = int(self.session.get_outputs()[0].shape[-1])

    def feeds(self, texts: list[str], batch_size: int) -> Iterator[tuple[np.ndarray, dict[str, np.ndarray]]]:
        """(rows of `texts`, model inputs) batch by batch, longest texts first."""
        encoded = self.tokenizer.encode_batch(texts) if texts else []
        lengths = [sum(e.attention_mask) for e in encoded]
        for rows in _batches(np.argsort([-n for n in lengths], kind="stable"), lengths, batch_size):
            width = lengths[rows[0]]
            ids = np.array([encoded[n].ids[:width] for n in rows], dtype=np.int64)
            mask = np.array([encoded[n].attention_mask[:width] for n in rows], dtype=np.int64)
            yield rows, {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}

    def encode(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for rows, feeds in self.feeds(texts, batch_size):
            out[rows] = self.session.run(None, feeds)[0]
        return out


def _batches(order: np.ndarray, lengths: list[int], batch_size: int, least_fill: float = 0.75) -> list[np.ndarray]:
    """Runs of `order` (longest first) of at most batch_size texts; a text much shorter than the longest of
    its run starts a new run, since every text is padded to that longest one (a question and its short parts)."""
    runs: list[list[int]] = []
    for n in order:
        if not runs or len(runs[-1]) == batch_size or lengths[n] < least_fill * lengths[runs[-1][0]]:
            runs.append([])
        runs[-1].append(int(n))
    return [np.array(run) for run in runs]
