"""Every backend is the same model: built from the bundled weights offline, the vectors of torch fp32."""

from __future__ import annotations

import sys
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from index.errors import UserError
from index.embeddings import SentenceTransformerEmbeddings

TEXTS = [
    "Sam Bankman-Fried faces a criminal trial on fraud and conspiracy charges.",
    "The central bank held interest rates steady in November.",
    "Short.",
    "A much longer passage " * 40,  # past 256 word pieces: truncated like sentence-transformers truncates
]


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("models")


@pytest.mark.slow
@pytest.mark.parametrize("backend, least_cosine", [("onnx", 0.9999), ("onnx-int8", 0.97)])
def test_onnx_backend_matches_torch(embeddings, cache, backend, least_cosine):
    onnx = SentenceTransformerEmbeddings(backend=backend, cache_dir=cache)
    reference = embeddings.model.encode(TEXTS, normalize_embeddings=True)  # sentence-transformers itself, fp32
    vectors = onnx.encode(TEXTS)
    assert vectors.shape == reference.shape
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    assert (vectors * reference).sum(axis=1).min() > least_cosine
    assert onnx.count_tokens(TEXTS[0]) == embeddings.count_tokens(TEXTS[0])
    assert onnx.max_tokens == embeddings.max_tokens
    # Built once: a second encoder reuses the cached file.
    built = sorted(p.name for p in cache.rglob("*.onnx"))
    SentenceTransformerEmbeddings(backend=backend, cache_dir=cache).encode(["again"])
    assert sorted(p.name for p in cache.rglob("*.onnx")) == built


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["auto", "openvino", "torch", "torch-bf16"])
def test_big_batch_backends_match_fp32(cache, backend):
    """Big batches (indexing) run on OpenVINO or torch, in bfloat16 where the CPU does bf16 natively (openvino,
    torch-bf16, auto); a few texts (a question) run on the fp32 ONNX export. Both give the fp32 vectors, near enough."""
    model = SentenceTransformerEmbeddings(backend=backend, cache_dir=cache)
    reference = model.model.encode(TEXTS, normalize_embeddings=True)
    many = model.encode(TEXTS * 20)  # past SHORT_BATCH
    few = model.encode(TEXTS)  # the ONNX export
    assert many.dtype == few.dtype == np.float32
    resolved = model.resolved_backend
    bf16 = resolved == "torch-bf16" or (resolved == "openvino" and model.openvino.precision == "bf16")
    assert (many[: len(TEXTS)] * reference).sum(axis=1).min() > (0.999 if bf16 else 0.99999)
    assert (few * reference).sum(axis=1).min() > 0.99999
    assert resolved == ("openvino" if backend == "auto" else backend)  # openvino is a dependency


@pytest.mark.slow
def test_openvino_batches_from_two_threads_keep_their_rows(cache):
    """Two indexing threads at once each get their own vectors (the calls take turns; each keeps every CPU stream busy)."""
    model = SentenceTransformerEmbeddings(backend="openvino", cache_dir=cache)
    first, second = TEXTS * 20, list(reversed(TEXTS)) * 20
    alone = [model.encode(first), model.encode(second)]
    with ThreadPoolExecutor(2) as pool:
        together = list(pool.map(model.encode, [first, second]))
    for a, b in zip(alone, together):
        assert np.allclose(a, b, atol=1e-5)


def test_unknown_backend_is_named():
    with pytest.raises(ValueError, match="unknown embedding backend 'gpu'"):
        SentenceTransformerEmbeddings(backend="gpu")


def test_openvino_backend_without_the_package_is_one_line(monkeypatch):
    monkeypatch.setitem(sys.modules, "openvino", None)  # what Python's import system reports for a missing package
    with pytest.raises(UserError, match="needs the openvino package"):
        SentenceTransformerEmbeddings(backend="openvino")


@pytest.mark.slow
def test_a_batch_of_mixed_lengths_gives_each_text_its_own_vector(cache):
    """Texts are batched by length (a question and its short parts run apart); the vectors do not depend on it."""
    onnx = SentenceTransformerEmbeddings(backend="onnx", cache_dir=cache).onnx
    together = onnx.encode(TEXTS, batch_size=8)
    alone = np.vstack([onnx.encode([text]) for text in TEXTS])
    assert np.allclose(together, alone, atol=1e-5)


@pytest.mark.slow
def test_answer_sentences_are_compared_in_int8_and_rank_as_in_fp32(cache):
    """An answer's sentences are compared only with its question, so they take the int8 export: its own vectors,
    close to the fp32 ones, ranking the sentences as fp32 does; the stored chunks' space is untouched."""
    embeddings = SentenceTransformerEmbeddings(cache_dir=cache)
    question = "Who faces a criminal trial for fraud?"
    fp32 = embeddings.encode([question, *TEXTS])
    comparable = embeddings.encode_comparable([question, *TEXTS])
    assert embeddings.comparison_encoder is not embeddings.short_encoder
    assert any(p.name == "model-int8.onnx" for p in cache.rglob("*.onnx"))
    assert np.allclose(np.linalg.norm(comparable, axis=1), 1.0, atol=1e-4)
    assert not np.allclose(comparable, fp32, atol=1e-6)  # another encoder's vectors
    assert (comparable * fp32).sum(axis=1).min() > 0.97
    assert list(np.argsort(-(comparable[1:] @ comparable[0]))) == list(np.argsort(-(fp32[1:] @ fp32[0])))
    # One answer's vectors depend on its texts only, not on what was asked before: int8 activations are quantized
    # over a whole batch, so vectors kept from an earlier batch would change the answer.
    used = SentenceTransformerEmbeddings(cache_dir=cache)
    used.encode_comparable([TEXTS[1], "Short."])
    assert np.array_equal(used.encode_comparable([question, *TEXTS]), comparable)
