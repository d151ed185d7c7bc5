from pathlib import Path

from chatbot.settings import Settings


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
