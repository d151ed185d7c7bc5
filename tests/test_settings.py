import os
import subprocess
import sys
from pathlib import Path

import pytest

from index.errors import UserError
from chatbot.settings import Settings, load_settings
from tests.conftest import ROOT


def test_precedence_arguments_env_file_defaults(tmp_path, monkeypatch):
    config = tmp_path / "config.toml"
    config.write_text('llm = "openai"\nk = 7\nllm_model = "from-file"\n')
    monkeypatch.setenv("NEWSQA_CONFIG", str(config))
    monkeypatch.setenv("NEWSQA_LLM_MODEL", "from-env")
    s = Settings(k=9)
    assert (s.llm, s.llm_model, s.k) == ("openai", "from-env", 9)
    monkeypatch.delenv("NEWSQA_CONFIG")
    monkeypatch.setenv("NEWSQA_CONFIG", str(tmp_path / "absent.toml"))
    assert Settings().llm == "extractive"


def test_openai_key_alias(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    assert Settings().llm_api_key == "sk-test"


def test_store_env_and_every_field_is_described(monkeypatch, tmp_path):
    monkeypatch.setenv("NEWSQA_STORE", str(tmp_path / "s"))
    assert Settings().store == Path(tmp_path / "s")
    assert all(f.description for f in Settings.model_fields.values())


def test_bad_settings_are_one_line_naming_each(monkeypatch):
    monkeypatch.setenv("NEWSQA_K", "ten")
    monkeypatch.setenv("NEWSQA_EMBEDDING_BACKEND", "gpu")
    with pytest.raises(UserError) as caught:
        load_settings()
    message = str(caught.value)
    assert "\n" not in message
    assert "NEWSQA_K='ten'" in message and "NEWSQA_EMBEDDING_BACKEND='gpu'" in message
    monkeypatch.delenv("NEWSQA_K")
    monkeypatch.delenv("NEWSQA_EMBEDDING_BACKEND")
    assert load_settings(k=3).k == 3


def test_the_command_stops_on_a_bad_setting_in_one_line(tmp_path):
    env = {**os.environ, "NEWSQA_K": "ten", "NEWSQA_STORE": str(tmp_path / "store")}
    result = subprocess.run([sys.executable, "-m", "chatbot", "ask", "Anything?"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]
    assert result.stderr.startswith("error: bad setting NEWSQA_K='ten'")
    assert not (tmp_path / "store").exists()  # nothing was opened or created
