"""The one settings object: typed, described, built once at the entry point and passed down."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import os

import platformdirs
from pydantic import AliasChoices, Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict, TomlConfigSettingsSource

from index.embeddings import EmbeddingBackend
from index.errors import UserError


# What can encode the chunks (index/embeddings.py says what each one is); the one list of them.


def default_store_dir() -> Path:
    """The user's data folder for the embedded store (overridable by NEWSQA_STORE / --store)."""
    return Path(platformdirs.user_data_dir("newsqa")) / "store"


def config_file() -> Path:
    """The optional TOML settings file: NEWSQA_CONFIG, else config.toml in the user's config folder."""
    return Path(os.environ.get("NEWSQA_CONFIG") or Path(platformdirs.user_config_dir("newsqa")) / "config.toml")


class Settings(BaseSettings):
    """Every knob of newsqa. Precedence: arguments, then NEWSQA_<FIELD> environment variables
    (e.g. NEWSQA_STORE), then the TOML file (`llm = "openai"`), then the defaults below."""

    model_config = SettingsConfigDict(env_prefix="NEWSQA_", extra="ignore")

    @classmethod
    def settings_customise_sources(cls, settings_cls, init_settings, env_settings, dotenv_settings, file_secret_settings):
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls, toml_file=config_file()))

    # -- store --------------------------------------------------------------
    store: Path = Field(default_factory=default_store_dir, description="Folder of the embedded Chroma store and its records.")
    chroma_host: str | None = Field(None, description="Host of a Chroma server (`chroma run`); when set, the server is used instead of the embedded store.")
    chroma_port: int = Field(8000, description="Port of the Chroma server.")
    collection: str = Field("newsqa", description="Prefix of the Chroma collection names.")

    # -- embedding and chunking ---------------------------------------------
    embedding_model: str = Field("", description="A sentence-transformers model name or folder; empty means the bundled all-MiniLM-L6-v2.")
    embedding_backend: EmbeddingBackend = Field(
        "auto",
        description="How the embedding model runs: openvino (the weights exported to ONNX on first use and run by OpenVINO,"
        " in bfloat16 where the CPU does bf16 natively: the fastest for indexing, vectors within 1e-4 of fp32), torch"
        " (sentence-transformers, fp32), torch-bf16 (the same with bfloat16 matrix products), auto (openvino where it is"
        " installed, else torch-bf16 on a CPU that does bf16 natively, else torch), onnx (the ONNX export on onnxruntime)"
        " or onnx-int8 (that export with int8 matrix weights). Except with onnx and onnx-int8, questions are encoded by"
        " the fp32 ONNX export on onnxruntime (the fp32 vectors, and no torch start-up when serving). Re-index after"
        " switching to or from onnx-int8.",
    )
    model_cache: Path = Field(
        default_factory=lambda: Path(platformdirs.user_cache_dir("newsqa")) / "models",
        description="Folder of the ONNX exports built from the local model weights.",
    )
    embedding_batch_size: int = Field(32, description="Chunks per encoder batch (32 was the fastest for torch-bf16 on a 2-core machine).")
    chunk_tokens: int = Field(220, description="Target chunk size in word pieces, header included (all-MiniLM-L6-v2 reads at most 256).")
    index_batch_chunks: int = Field(512, description="Chunks embedded and written together; each article is committed whole after its chunks.")
    chunk_overlap_tokens: int = Field(40, description="Overlap between neighbouring chunks of one section, in word pieces (whole sentences).")

    # -- retrieval ----------------------------------------------------------
    k: int = Field(5, description="Passages handed to the answerer.")
    candidates: int = Field(50, description="Candidates taken from each of the dense and BM25 sides before fusion.")
    rrf_k: int = Field(60, description="Reciprocal rank fusion constant.")
    dense_weight: float = Field(1.0, description="Weight of the dense ranking in the fusion.")
    bm25_weight: float = Field(1.0, description="Weight of the BM25 ranking in the fusion, for questions shorter than long_question_words.")
    bm25_weight_long: float = Field(
        5.0,
        description="Weight of the BM25 ranking for long questions (long_question_words or more): their many names and"
        " figures find the passage better than their blurred embedding (measured from 0.7 to 10 on MultiHop-RAG; for"
        " every question it cost short ones: docs/ablations.md).",
    )
    bm25_k1: float = Field(0.9, description="BM25 term-frequency saturation (bm25s's default is 1.5).")
    bm25_b: float = Field(
        0.3,
        description="BM25 length normalisation (bm25s's default is 0.75). Every chunk carries its article's header, so"
        " a short chunk is mostly header and full normalisation lifts it over the passage that answers; 0.3 was in the"
        " middle of the best region of a k1 x b grid on MultiHop-RAG (docs/ablations.md).",
    )
    sentence_weight: float = Field(
        1.0,
        description="Weight, in a reciprocal rank fusion with the retrieved order, of the order of the passages' best"
        " sentences (summed IDF of the question terms one sentence holds, plus that of the terms of the question's clause"
        " it matches best); it only reorders the k passages, 0 turns it off (MultiHop-RAG MRR@10 0.65 -> 0.76:"
        " docs/ablations.md).",
    )
    long_question_words: int = Field(20, description="Questions (or condensed follow-ups) of at least this many words count as long.")
    question_metadata: bool = Field(True, description="Also search within each outlet and date a question names (see docs/ablations.md).")
    decompose_questions: bool = Field(
        True, description="Search each part of a question that names several outlets on its own, within that outlet (see docs/ablations.md)."
    )

    # -- answering ----------------------------------------------------------
    llm: Literal["extractive", "openai", "ollama", "llamacpp"] = Field("extractive", description="Answer backend.")
    llm_base_url: str | None = Field(None, description="Base URL of an OpenAI-compatible or Ollama server.")
    llm_model: str | None = Field(None, description="Model name on that server.")
    llm_api_key: str | None = Field(
        None,
        validation_alias=AliasChoices("NEWSQA_LLM_API_KEY", "OPENAI_API_KEY"),
        description="API key of the OpenAI-compatible server (or OPENAI_API_KEY).",
    )
    llamacpp_model_path: Path | None = Field(None, description="Path of a local GGUF model file for the llamacpp backend.")
    llamacpp_context: int = Field(4096, description="Context window of the llamacpp model, in tokens (prompt and answer).")
    llm_timeout: float = Field(60.0, description="Seconds to wait for the LLM server before answering extractively instead.")
    llm_max_retries: int = Field(1, description="Retries of a failed LLM request (openai backend) before answering extractively.")
    llm_max_tokens: int = Field(512, description="Longest LLM answer, in tokens.")
    llm_temperature: float = Field(0.1, description="Sampling temperature of the LLM; low keeps answers close to the passages.")
    llm_condense: bool = Field(True, description="Rewrite follow-up questions with the LLM when one is configured; false keeps the heuristic.")
    answer_sentences: int = Field(
        3, description="Sentences in an extractive answer, at most: the lead, and those that add what it lacks, within 45 words."
    )
    max_question_chars: int = Field(
        1000, gt=0, description="Longest question accepted (chat, CLI, OpenAI-compatible endpoint, MCP tools), in characters; a longer one gets a one-line message."
    )
    abstain_below: float = Field(0.35, description="The extractive answerer abstains when no sentence is this similar to the question.")

    # -- live news (web pages, feeds, wire copies) --------------------------
    fetch_timeout: float = Field(15.0, description="Seconds to wait for a web server (connect, and each read) before giving up on a URL.")
    fetch_max_bytes: int = Field(5_000_000, description="Largest web page or feed fetched, in bytes; bigger ones are refused.")
    user_agent: str = Field(
        "newsqa/0.1 (news question answering; respects robots.txt)",
        description="User-Agent sent with every fetch; robots.txt rules for this agent are respected.",
    )
    allow_private_urls: bool = Field(
        False,
        description="Fetch web pages and feeds from internal addresses (loopback, private, link-local...) and on any port."
        " Off, a URL (or a redirect, or a name) leading inside the server's network is refused, so that users of the app"
        " cannot make it read internal services; turn on only for a trusted intranet. On, a configured HTTP(S)_PROXY is"
        " used too (off, the address checks cannot see through one, so nothing is fetched while one is set).",
    )
    feeds_sync_minutes: float = Field(0.0, description="Minutes between background feed syncs in the chat app; 0 turns them off.")
    duplicate_threshold: float = Field(
        0.7, description="Estimated Jaccard similarity (word 5-shingles) above which a new article is a copy of an indexed one."
    )

    # -- app ----------------------------------------------------------------
    host: str = Field("127.0.0.1", description="Address the chat app binds to.")
    port: int = Field(7860, description="Port of the chat app.")
    auth_user: str | None = Field(None, description="Username for the chat app; with auth_password, nothing is served without it.")
    auth_password: str | None = Field(None, description="Password for the chat app.")
    max_upload_mb: float = Field(
        20.0, gt=0, description="Largest file the chat app accepts for upload, in MB; bigger uploads are refused before they are stored."
    )

    # -- service: the OpenAI-compatible endpoint and the MCP server (docs/api.md) --
    api_history_turns: int = Field(
        20, gt=0, description="Earlier turns of a conversation the OpenAI-compatible endpoint uses as history; older ones are ignored."
    )
    mcp_writes: bool = Field(False, description="Offer the add_url and add_feed tools in `newsqa mcp`; off, the MCP server only reads.")


def load_settings(**values) -> Settings:
    """The settings for an entry point; a bad value (NEWSQA_K=ten, a typo in config.toml) is a UserError of one
    line naming each bad setting, not a validation traceback."""
    try:
        return Settings(**values)
    except ValidationError as exc:
        prefix = Settings.model_config["env_prefix"]
        bad = "; ".join(f"{prefix}{'_'.join(map(str, e['loc'])).upper()}={e.get('input')!r}: {e['msg']}" for e in exc.errors())
        raise UserError(f"bad setting {bad} (from the environment or {config_file()})") from None
