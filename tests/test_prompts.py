"""Prompt files: loaded as package data, rendered strictly, and filled with exactly their variables."""

import pytest
from langchain_core.documents import Document
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel

import prompts
from chatbot import llm
from chatbot.followup import Turn


def test_rendering_is_strict():
    with pytest.raises(prompts.PromptError, match="missing variables \\['question'\\]"):
        prompts.render("condense", topic="t", subject="s", last_question="l")
    with pytest.raises(prompts.PromptError, match="unexpected \\['extra'\\]"):
        prompts.render("condense", topic="t", subject="s", last_question="l", question="q", extra="x")


@pytest.mark.parametrize("name", ["answer", "condense"])
def test_every_template_starts_with_a_role_and_has_a_system_message(name):
    roles = [role for role, _ in prompts.render(name, **{v: "x" for v in prompts.variables(name)})]
    assert roles[0] == "system" and roles[-1] == "user"


def test_each_template_gets_exactly_the_variables_the_code_passes(monkeypatch):
    passed: dict[str, set[str]] = {}
    real_render = prompts.render

    def recording_render(name, **values):
        passed[name] = set(values)
        return real_render(name, **values)

    monkeypatch.setattr(prompts, "render", recording_render)
    fake = GenericFakeChatModel(messages=iter(["What did Smith do?"]))
    llm.answer_messages("Who?", [Document("Smith coached.", metadata={"title": "T"})])
    llm.LLMCondenser(fake)("And then?", [Turn("Who is Smith?", "Who is Smith?", "A coach [1].")])
    assert set(passed) == {"answer", "condense"}
    for name, values in passed.items():
        assert prompts.variables(name) == values, name
