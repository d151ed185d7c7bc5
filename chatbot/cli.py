"""The `newsqa` command line: a thin layer over build_chain and the store."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import List, Optional

import typer

from index.errors import UserError
from chatbot.settings import Settings, load_settings

SEEDS_DIR = Path(__file__).resolve().parent.parent / "seeds"

app = typer.Typer(help="Ask questions about news articles; every answer cites its passages.", no_args_is_help=True)
index_app = typer.Typer(help="Add, list and remove indexed articles.", no_args_is_help=True)
app.add_typer(index_app, name="index")


class State:
    settings: Settings


state = State()


def fail(message: str, code: int = 1) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


@app.callback()
def main_options(
    store: Optional[Path] = typer.Option(None, "--store", envvar="NEWSQA_STORE", help="Folder of the article store."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log what happens."),
) -> None:
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    for noisy in ("httpx", "chromadb", "sentence_transformers", "transformers"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # trafilatura warns about every page it discards; our loader already reports it in one line.
    logging.getLogger("trafilatura").setLevel(logging.ERROR)
    try:
        state.settings = load_settings(**({"store": store} if store else {}))
    except UserError as exc:
        fail(str(exc))


def _chain():
    from chatbot.chain import build_chain

    try:
        return build_chain(state.settings)
    except UserError as exc:  # a Chroma server store that does not answer (issue 7)
        fail(str(exc))


def _store():
    from chatbot.chain import build_store

    try:
        return build_store(state.settings)
    except UserError as exc:  # a Chroma server store that does not answer (issue 7)
        fail(str(exc))


def _writer_store(doing: str):
    """The store, for a command that writes it; stops in one line when a running app serves it (issue 7)."""
    from index.serving import ServingLock, StoreServed

    try:
        ServingLock(state.settings).check_free()
    except StoreServed as exc:
        fail(
            f"the store {exc.folder} is served by a running `newsqa serve`, which is its only writer; "
            f"{doing} in the app's Library tab, or stop the app first"
        )
    return _store()


def _library(doing: str | None = None):
    """The library service; over the store, for a command that writes it (`doing`), else without one."""
    from chatbot.library import Library

    return Library(state.settings, _writer_store(doing) if doing else None)


def _sync_lexical(store) -> None:
    """Bring the BM25 index up to the store's new version now, so the next start has nothing to add."""
    from chatbot.chain import build_retriever

    build_retriever(state.settings, store).lexical()


@index_app.command("add")
def index_add(
    inputs: list[str] = typer.Argument(..., help="Files or folders (.txt .md .html .json .jsonl), or http(s) URLs of web pages."),
) -> None:
    """Index articles from files, folders and web pages; re-adding an unchanged article adds nothing."""
    library = _library("add articles")
    swept, repaired = library.repair()
    if swept:
        typer.echo(f"removed {swept} chunks left by an interrupted run", err=True)
    if repaired:
        typer.echo(f"re-embedded {repaired} chunks whose vectors an interrupted run left unreadable", err=True)
    report = library.add(inputs, progress=sys.stderr.isatty(), on_error=lambda e: typer.echo(f"error: {e}", err=True))
    if report.added or report.updated or report.merged or swept or repaired:
        _sync_lexical(library.store)
    typer.echo(report.summary())
    if report.failed:
        raise typer.Exit(1)


@index_app.command("list")
def index_list(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """List indexed articles, newest first."""
    rows = _store().articles()
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=1))
        return
    for r in rows:
        also = f"  (also published by {', '.join(r['also_published_by'])})" if r.get("also_published_by") else ""
        typer.echo(f"{r['id']}  {r['published_at'][:10] or '----------'}  {r['source'][:24]:24}  {r['title'][:80]}{also}")


@index_app.command("remove")
def index_remove(article_id: str = typer.Argument(..., help="An id from `newsqa index list`.")) -> None:
    """Remove an article and its chunks."""
    library = _library("remove articles")
    try:
        library.remove(article_id)
    except UserError as exc:
        fail(str(exc))
    _sync_lexical(library.store)
    typer.echo(f"removed {article_id}")


@index_app.command("stats")
def index_stats(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Count articles and chunks."""
    stats = _store().stats()
    typer.echo(json.dumps(stats) if as_json else f"{stats['articles']} articles, {stats['chunks']} chunks")


def print_answer(answer) -> None:
    if answer.notice:
        typer.echo(f"note: {answer.notice}", err=True)
    typer.echo(answer.text)
    print_sources(answer)


def stream_answer(pieces):
    """Print the answer as it streams, then the checked answer if checking changed it; returns the Answer."""
    from chatbot.answering import Notice
    from chatbot.citations import MarkerRenumberer, normalize_markers

    renumber, shown = MarkerRenumberer(), ""
    for piece in pieces:
        if isinstance(piece, Notice):
            if shown:
                typer.echo("")
            typer.echo(f"note: {piece}", err=True)
            renumber, shown = MarkerRenumberer(), ""
        elif isinstance(piece, str):
            text = renumber.feed(piece)
            typer.echo(text, nl=False)
            shown += text
        else:
            answer = piece
    typer.echo(renumber.flush())
    if " ".join(normalize_markers(shown).split()) != " ".join(answer.text.split()):
        typer.echo(f"\nChecked answer: {answer.text}")
    return answer


def print_sources(answer) -> None:
    if answer.unverified:
        typer.echo("(unverified: no passage supports the sentences so marked)")
    if answer.citations:
        typer.echo("\nSources:")
    from chatbot.rendering import outlet_line

    for c in answer.citations:
        meta = ", ".join(x for x in (outlet_line(c.source, c.also_published_by), c.published_at[:10]) if x)
        typer.echo(f"[{c.n}] {c.title} ({meta}){'  ' + c.url if c.url else ''}")
        typer.echo(f"    “{c.sentence or c.text[:200]}”")


def ensure_not_empty(chain, seeds: bool) -> None:
    if chain.store.stats()["articles"]:
        return
    if not seeds and sys.stdin.isatty():
        seeds = typer.confirm("The store is empty. Index the seed articles?", default=True)
    if not seeds:
        fail("the store is empty: index articles with `newsqa index add PATH`, or pass --seeds to index seeds/")
    typer.echo(f"indexing the seed articles in {SEEDS_DIR} ...", err=True)
    from chatbot.library import Library

    report = Library(state.settings, chain.store).add([SEEDS_DIR], on_error=lambda e: typer.echo(f"error: {e}", err=True))
    typer.echo(report.summary(), err=True)


@app.command()
def ask(
    question: str = typer.Argument(..., help="A question about the indexed articles."),
    source: Optional[list[str]] = typer.Option(None, "--source", help="Only this outlet (repeatable)."),
    since: Optional[str] = typer.Option(None, help="Only articles published on or after YYYY-MM-DD."),
    until: Optional[str] = typer.Option(None, help="Only articles published on or before YYYY-MM-DD."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    seeds: bool = typer.Option(False, "--seeds", help="Index seeds/ first when the store is empty."),
) -> None:
    """Answer one question with numbered sources."""
    from chatbot.chain import Filters
    from index.articles import parse_day

    try:
        filters = Filters(sources=source or None, since=parse_day(since, "--since"), until=parse_day(until, "--until"))
    except UserError as exc:
        fail(str(exc))
    if not question.strip():
        fail("the question is empty: ask something about the indexed articles")
    chain = _chain()
    ensure_not_empty(chain, seeds)
    try:
        answer = chain.ask(question, filters=filters)
    except UserError as exc:
        fail(str(exc))
    if as_json:
        out = answer.as_json()
        out["citations"] = [{k: c[k] for k in ("n", "title", "source", "also_published_by", "published_at", "url", "text", "sentence")} for c in out["citations"]]
        typer.echo(json.dumps(out, ensure_ascii=False, indent=1))
    else:
        print_answer(answer)


@app.command()
def chat(seeds: bool = typer.Option(False, "--seeds", help="Index seeds/ first when the store is empty.")) -> None:
    """A conversation in the terminal; follow-up questions use the earlier turns. Ctrl-D or 'exit' ends it."""
    from chatbot.followup import Turn

    chain = _chain()
    ensure_not_empty(chain, seeds)
    history: list[Turn] = []
    while True:
        try:
            question = input("\nyou> ").strip()
        except (EOFError, KeyboardInterrupt):
            typer.echo("")
            return
        if question.lower() in {"exit", "quit"}:
            return
        if not question:
            continue
        try:
            answer = stream_answer(chain.stream(question, history))
        except UserError as exc:
            typer.echo(f"error: {exc}", err=True)
            continue
        if answer.query != question:
            typer.echo(f"(searched for: {answer.query})")
        print_sources(answer)
        history.append(Turn.after(question, answer))


# -- issue 6: live news (feeds) -----------------------------------------------------------------------
feeds_app = typer.Typer(help="Follow RSS/Atom feeds and index their new articles.", no_args_is_help=True)
app.add_typer(feeds_app, name="feeds")


@feeds_app.callback()
def feeds_check() -> None:
    try:
        _library().following()
    except UserError as exc:
        fail(str(exc))


@feeds_app.command("add")
def feeds_add(url: str = typer.Argument(..., help="The http(s) address of an RSS or Atom feed.")) -> None:
    """Follow a feed; `newsqa feeds sync` then indexes its articles."""
    try:
        added = _library().follow(url)
    except UserError as exc:
        fail(str(exc))
    typer.echo(f"following {url}; run `newsqa feeds sync`" if added else f"already following {url}")


@feeds_app.command("list")
def feeds_list(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """List followed feeds with their last sync."""
    rows = _library().feeds()
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=1))
        return
    for r in rows:
        synced = f"synced {r['last_sync']}: {r['last_result']}" if r["last_sync"] else "never synced"
        typer.echo(f"{r['url']}  {r['title'][:40] or '(untitled)'}  {synced}")


@feeds_app.command("remove")
def feeds_remove(url: str = typer.Argument(..., help="A feed address from `newsqa feeds list`.")) -> None:
    """Stop following a feed; the articles already indexed from it stay."""
    try:
        _library().unfollow(url)
    except UserError as exc:
        fail(str(exc))
    typer.echo(f"stopped following {url}")


@feeds_app.command("sync")
def feeds_sync(
    every: Optional[float] = typer.Option(None, "--every", min=0.1, help="Keep syncing every MINUTES until Ctrl-C."),
) -> None:
    """Index the new entries of every followed feed; exit status 1 when anything failed."""
    import time

    if not _library().following():
        fail("no feeds followed: add one with `newsqa feeds add URL`")
    library = _library("sync feeds")
    try:
        while True:
            report = library.sync()
            for feed in report.feeds:
                typer.echo(f"{feed.feed}: {feed.summary()}")
                for note in feed.notes:
                    typer.echo(f"warning: {note}", err=True)
                for line in feed.failed:
                    typer.echo(f"error: {line}", err=True)
            typer.echo(report.summary())
            if every is None:
                raise typer.Exit(1 if report.failed or report.busy else 0)
            time.sleep(every * 60)
    except KeyboardInterrupt:
        raise typer.Exit(0)


# -- issue 3: the browser chat app (logic in chatbot/app.py) ---------------------------------------
@app.command()
def serve(
    host: Optional[str] = typer.Option(None, "--host", help="Address to bind (default 127.0.0.1, from NEWSQA_HOST)."),
    port: Optional[int] = typer.Option(None, "--port", help="Port (default 7860, from NEWSQA_PORT)."),
    share: bool = typer.Option(False, "--share", help="Also publish through a temporary public Gradio link."),
    seeds: bool = typer.Option(False, "--seeds", help="Index seeds/ first when the store is empty."),
) -> None:
    """Chat in the browser: streamed answers, numbered sources, follow-ups, a library of articles and feeds.
    The same server answers OpenAI clients at /v1 (docs/api.md)."""
    from chatbot.api import openai_api
    from chatbot.app import create_app, launch
    from index.feeds import start_background_sync
    from index.serving import ServingLock, StoreServed

    updates = {k: v for k, v in (("host", host), ("port", port)) if v is not None}
    state.settings = state.settings.model_copy(update=updates)
    try:
        # The served app is the embedded store's only writer while it runs (issue 7).
        serving = ServingLock(state.settings).acquire()
    except StoreServed as exc:
        fail(
            f"the store {exc.folder} is already served by a running `newsqa serve`; "
            "open that app, or stop it first, or serve another --store"
        )
    chain = _chain()
    ensure_not_empty(chain, seeds)
    chain.warm_up()
    sync = start_background_sync(chain, state.settings) if state.settings.feeds_sync_minutes > 0 else None
    typer.echo(f"newsqa chat on http://{state.settings.host}:{state.settings.port} (Ctrl-C stops it)", err=True)
    try:
        launch(create_app(chain, sync), state.settings, share=share, api=openai_api(chain, state.settings))
    except OSError as exc:
        fail(f"cannot serve on {state.settings.host}:{state.settings.port} ({exc}); choose another --port")
    finally:
        if sync:
            sync.stop()
        serving.release()


# -- issue 19: newsqa for MCP clients (logic in chatbot/mcp_server.py) ---------------------------------
@app.command()
def mcp(
    http: bool = typer.Option(False, "--http", help="Serve streamable HTTP on 127.0.0.1 instead of stdio."),
    port: int = typer.Option(8765, "--port", help="Port of the streamable HTTP server (at /mcp)."),
) -> None:
    """An MCP server over the store: tools ask, search and list_articles, article records as resources.
    Read-only unless NEWSQA_MCP_WRITES=true, which adds the add_url and add_feed tools."""
    from chatbot.mcp_server import build_server
    from index.serving import ServingLock, StoreServed

    writer = None
    if state.settings.mcp_writes:
        try:
            # With writes on, this process is a writer of the store, as `newsqa serve` is (issue 7).
            writer = ServingLock(state.settings).acquire()
        except StoreServed as exc:
            fail(f"{exc} (NEWSQA_MCP_WRITES=true makes `newsqa mcp` a writer; without it, it only reads)")
    chain = _chain()
    chain.warm_up()
    server = build_server(chain, state.settings)
    try:
        if http:
            typer.echo(f"newsqa MCP server on http://127.0.0.1:{port}/mcp (Ctrl-C stops it)", err=True)
            server.run("streamable-http", host="127.0.0.1", port=port)
        else:
            server.run()  # stdio: stdout carries the protocol, so nothing else may print there
    except KeyboardInterrupt:
        pass
    finally:
        if writer:
            writer.release()


# -- issue 8: speed, measured by one command ------------------------------------
MULTIHOP = SEEDS_DIR.parent.parent / "shared" / "bench" / "multihop"  # beside the repo clone, as in CI


bench_app = typer.Typer(help="Measure speed in one run; `newsqa bench load` measures many sessions at once.")
app.add_typer(bench_app, name="bench")


@bench_app.callback(invoke_without_command=True)
def bench(
    ctx: typer.Context,
    corpus: Path = typer.Option(MULTIHOP / "corpus.json", help="Articles to index (JSON list of records)."),
    queries: Path = typer.Option(MULTIHOP / "dev_queries.json", help="Questions (MultiHop-RAG queries file)."),
    limit: int = typer.Option(200, help="Time at most this many questions."),
    workdir: Optional[Path] = typer.Option(None, help="Folder for the fresh stores (default: a temporary folder)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Time the raw encoder, `index add`, the LangChain tutorial, start-up and answers, in one run."""
    import tempfile

    from chatbot.bench import as_json as result_json, run_bench

    if ctx.invoked_subcommand is not None:
        return

    for path, option in ((corpus, "--corpus"), (queries, "--queries")):
        if not path.is_file():
            fail(f"{option} {path} is not a file; pass the MultiHop-RAG {path.name} or your own")
    with tempfile.TemporaryDirectory(prefix="newsqa-bench-") as tmp:
        result = run_bench(state.settings, corpus, queries, workdir or Path(tmp), limit, say=lambda m: typer.echo(m, err=True))
    typer.echo(result_json(result) if as_json else result.table())


def _check_source_store(folder: Path) -> None:
    """A benchmark's --source-store must be a store folder: it is copied, then the copy is grown or served."""
    if not (folder / "chroma").is_dir():
        fail(f"--source-store {folder} is not a newsqa store (no chroma folder in it); pass the folder of an indexed store")


@bench_app.command("load")
def bench_load_command(
    sessions: int = typer.Option(20, min=1, help="Chat sessions at once."),
    turns: int = typer.Option(5, min=1, help="Questions each session asks, one after another."),
    articles: int = typer.Option(60, min=1, help="Articles of --corpus the app's feed sync adds to the served store during the run."),
    corpus: Path = typer.Option(MULTIHOP / "corpus.json", help="Articles the feed carries (JSON list of records)."),
    timeout: float = typer.Option(1800, min=1, help="Seconds before the run is cut short (counted as an error)."),
    workdir: Optional[Path] = typer.Option(None, help="Folder for the fresh store (default: a temporary folder)."),
    source_store: Optional[Path] = typer.Option(None, "--source-store", help="Serve a copy of this store instead of a fresh store of seeds/ (never modified)."),
) -> None:
    """Serve the app on 127.0.0.1 over a fresh store of seeds/ (or a copy of --source-store), chat in many sessions at once through
    gradio_client while the app's feed sync indexes a feed of --articles articles (served on 127.0.0.1);
    print errors, mixed histories and latency. Exit status 1 when any turn or article failed or any
    session's history held another's questions."""
    import tempfile

    from chatbot.loadtest import load_bench

    if not corpus.is_file():
        fail(f"--corpus {corpus} is not a file; pass the MultiHop-RAG corpus.json or your own")
    if source_store:
        _check_source_store(source_store)
    with tempfile.TemporaryDirectory(prefix="newsqa-load-") as tmp:
        report = load_bench(
            state.settings, SEEDS_DIR, corpus, workdir or Path(tmp), sessions, turns, articles, timeout,
            say=lambda m: typer.echo(m, err=True), source_store=source_store,
        )
    typer.echo(report.summary())
    if report.errors or report.mixed or report.synced is None or report.synced.failed:
        raise typer.Exit(1)


@bench_app.command("scale")
def bench_scale_command(
    source_store: Path = typer.Option(..., "--source-store", help="An indexed store to grow from; it is copied first and never modified."),
    steps: str = typer.Option("100000,300000,1000000", help="Store sizes to measure at, in chunks, comma-separated."),
    queries: Path = typer.Option(MULTIHOP / "dev_queries.json", help="Questions to time (MultiHop-RAG queries file or a JSON list)."),
    query_count: int = typer.Option(50, min=1, help="Time at most this many questions per step."),
    ingest_articles: int = typer.Option(50, min=1, help="Articles written during the live-ingest probe."),
    ingest_timeout: float = typer.Option(600, min=1, help="Seconds to wait for them to be searchable before giving up."),
    workdir: Optional[Path] = typer.Option(None, help="Folder for the grown store, kept (default: a temporary folder, removed)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Grow a copy of a store to each size by copying its stored chunks and vectors under new ids, and
    measure each size in a fresh serving process: start-up to the first answer, RSS, retrieval p50/p95,
    and how soon articles written meanwhile are searchable (with the questions' p95 meanwhile)."""
    import tempfile

    from chatbot.scalebench import parse_steps, run_scale, table

    _check_source_store(source_store)
    try:
        sizes = parse_steps(steps)
        with tempfile.TemporaryDirectory(prefix="newsqa-scale-") as tmp:
            result = run_scale(
                state.settings, source_store, sizes, queries, query_count, workdir or Path(tmp), ingest_articles,
                ingest_timeout, say=lambda m: typer.echo(m, err=True),
            )
    except UserError as exc:
        fail(str(exc))
    typer.echo(json.dumps(result, indent=1) if as_json else table(result))


@bench_app.command("scale-worker", hidden=True)
def bench_scale_worker(role: str = typer.Argument(...), job: str = typer.Argument(...)) -> None:
    """One process of `bench scale` (grow, serve or write); prints its result as JSON."""
    from chatbot.scalebench import worker

    try:
        typer.echo(json.dumps(worker(role, state.settings, json.loads(job), say=lambda m: typer.echo(m, err=True))))
    except UserError as exc:
        fail(str(exc))


# -- issue 4: evaluation commands (logic in chatbot/evaluation.py) ---------------------------------
eval_app = typer.Typer(help="Measure retrieval and follow-up handling on benchmark files.", no_args_is_help=True)
app.add_typer(eval_app, name="eval")
MULTIHOP_CORPUS = SEEDS_DIR.parent.parent / "shared" / "bench" / "multihop" / "corpus.json"


def _eval_settings(store: Optional[Path]) -> Settings:
    return state.settings.model_copy(update={"store": store}) if store else state.settings


@eval_app.command("retrieval")
def eval_retrieval(
    corpus: Path = typer.Option(..., "--corpus", help="MultiHop-RAG corpus.json (indexed when the store lacks it)."),
    queries: Path = typer.Option(..., "--queries", help="MultiHop-RAG queries (e.g. dev_queries.json)."),
    k: int = typer.Option(10, "--k", min=1, help="Passages retrieved per query (Hits@k, MRR@k, MAP@k)."),
    store: Optional[Path] = typer.Option(None, "--store", help="Store folder to index into and search (default: the usual store)."),
    baseline: bool = typer.Option(False, "--baseline", help="Also run the LangChain tutorial pipeline, side by side."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Score the chat's own retrieval on MultiHop-RAG queries with the paper's rule, and its answers (gold
    answer inside, length, abstention), for the odd- and even-numbered queries too."""
    from chatbot.evaluation import EvalInputError, evaluate_retrieval, retrieval_table

    try:
        result = evaluate_retrieval(_eval_settings(store), corpus, queries, k, baseline, progress=sys.stderr.isatty())
    except EvalInputError as exc:
        fail(str(exc))
    typer.echo(json.dumps(result, indent=1) if as_json else retrieval_table(result))


@eval_app.command("conversations")
def eval_conversations(
    files: List[Path] = typer.Option(..., "--file", help="Conversation bench (e.g. dev_conversations.json); repeat for several, reported each and combined."),
    corpus: Path = typer.Option(MULTIHOP_CORPUS, "--corpus", help="Articles to index besides seeds/ (default: the MultiHop-RAG corpus)."),
    store: Optional[Path] = typer.Option(None, "--store", help="Store folder to index into and search (default: the usual store)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
    typed: str = typer.Option("as-written", "--typed", help="Ask every question as people often type it: as-written, lowercase, no-question-mark or wrapped (\"Can you tell me ...\")."),
) -> None:
    """Play multi-turn conversations through the chat's follow-up handling; report evidence hit@5, the answers'
    figures and abstention, for the odd- and even-numbered conversations too."""
    from chatbot.evaluation import EvalInputError, conversation_table, evaluate_conversations

    try:
        result = evaluate_conversations(_eval_settings(store), files, [corpus, SEEDS_DIR], progress=sys.stderr.isatty(), typed=typed)
    except EvalInputError as exc:
        fail(str(exc))
    typer.echo(json.dumps(result, indent=1, ensure_ascii=False) if as_json else conversation_table(result))


def main() -> None:
    app()


if __name__ == "__main__":
    main()
