"""The `newsqa` command line: a thin layer over build_chain and the store."""

from __future__ import annotations

import json
import logging
import sys
from datetime import date, datetime
from pathlib import Path
from typing import Optional

import typer

from chatbot.errors import UserError
from chatbot.settings import Settings

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
    state.settings = Settings(**({"store": store} if store else {}))


def _chain():
    from chatbot.chain import build_chain

    return build_chain(state.settings)


def _store():
    from chatbot.chain import build_store

    return build_store(state.settings)


def index_paths(store, paths: list[Path], progress: bool = True):
    from index.loaders import load_paths

    return store.add(load_paths(paths), progress=progress, on_error=lambda e: typer.echo(f"error: {e}", err=True))


@index_app.command("add")
def index_add(paths: list[Path] = typer.Argument(..., help="Files or folders (.txt .md .html .json .jsonl).")) -> None:
    """Index articles from files and folders; re-adding an unchanged article adds nothing."""
    store = _store()
    swept = store.sweep_orphans()
    if swept:
        typer.echo(f"removed {swept} chunks left by an interrupted run", err=True)
    report = index_paths(store, paths, progress=sys.stderr.isatty())
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
        typer.echo(f"{r['id']}  {r['published_at'][:10] or '----------'}  {r['source'][:24]:24}  {r['title'][:80]}")


@index_app.command("remove")
def index_remove(article_id: str = typer.Argument(..., help="An id from `newsqa index list`.")) -> None:
    """Remove an article and its chunks."""
    if not _store().remove(article_id):
        fail(f"no article with id {article_id!r}; see `newsqa index list`")
    typer.echo(f"removed {article_id}")


@index_app.command("stats")
def index_stats(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Count articles and chunks."""
    stats = _store().stats()
    typer.echo(json.dumps(stats) if as_json else f"{stats['articles']} articles, {stats['chunks']} chunks")


def parse_day(value: Optional[str], option: str) -> Optional[date]:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        fail(f"{option} {value!r} is not a date; use YYYY-MM-DD")


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
    for c in answer.citations:
        meta = ", ".join(x for x in (c.source, c.published_at[:10]) if x)
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
    typer.echo(index_paths(chain.store, [SEEDS_DIR], progress=False).summary(), err=True)


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

    filters = Filters(sources=source or None, since=parse_day(since, "--since"), until=parse_day(until, "--until"))
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
        out["citations"] = [{k: c[k] for k in ("n", "title", "source", "published_at", "url", "text", "sentence")} for c in out["citations"]]
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
        history.append(Turn(question, answer.query, answer.text, [c.article_id for c in answer.citations]))


def main() -> None:
    app()


if __name__ == "__main__":
    main()
