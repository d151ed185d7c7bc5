"""The chat in the browser: a thin Gradio layer over NewsQA.

`create_app(chain)` builds the Blocks (nothing is served); `launch(app, settings)` serves it. Each
browser session keeps its own history (a gr.State list of Turns) and its own pinned articles; the
chain, the store and the retriever are shared. The chat is also an API endpoint named `chat`.
"""

from __future__ import annotations

import html
import logging
from dataclasses import asdict
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Iterator

from chatbot.answering import Answer
from chatbot.chain import Filters, NewsQA
from index.errors import UserError
from chatbot.followup import Turn
from chatbot.gradio_import import import_gradio
from chatbot.rendering import answer_markdown, api_markdown, day, escape_markdown, sources_html, timeline_svg
from chatbot.settings import Settings
from index.feeds import BackgroundSync, FeedRegistry, FeedStateError, check_feed_url, feeds_status, sync_feeds
from index.loaders import SUFFIXES, LoadError, load_path
from index.questions import stored_questions
from index.store import IndexReport
from index.web import fetch_articles, is_url

gr = import_gradio()
log = logging.getLogger(__name__)

ALL_CITED = "__all_cited__"
MAX_SUGGESTIONS = 6

CSS = """
.nq-sources { display: flex; flex-direction: column; gap: 10px; max-height: 560px; overflow-y: auto; }
.nq-asked { font-size: 0.85em; font-style: italic; color: var(--body-text-color-subdued); }
.nq-empty { color: var(--body-text-color-subdued); font-size: 0.9em; padding: 8px; }
.nq-source { border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 8px 10px; background: var(--background-fill-secondary); }
.nq-source.nq-flash { outline: 2px solid var(--color-accent); }
.nq-source-head { display: flex; gap: 8px; align-items: baseline; font-weight: 600; }
.nq-n { display: inline-block; min-width: 1.6em; text-align: center; border-radius: 999px; background: var(--color-accent); color: white; font-size: 0.8em; }
.nq-meta { color: var(--body-text-color-subdued); font-size: 0.85em; margin: 2px 0 4px 0; }
.nq-passage { margin: 0; padding-left: 8px; border-left: 3px solid var(--border-color-primary); font-size: 0.88em; max-height: 180px; overflow-y: auto; white-space: pre-wrap; }
.nq-passage mark { background: #fde68a; color: inherit; padding: 0 1px; }
.nq-cite { text-decoration: none; font-weight: 600; font-size: 0.85em; vertical-align: super; }
.nq-timeline { width: 100%; height: auto; }
.nq-timeline-title { font-size: 0.85em; color: var(--body-text-color-subdued); }
.nq-axis { stroke: var(--border-color-primary); stroke-width: 2; }
.nq-dot { fill: var(--color-accent); }
.nq-label, .nq-date { font-size: 10px; fill: var(--body-text-color); }
#nq-pin-banner { min-height: 0; }
"""

# [n] markers link to '#nq-src-n'; scroll the sources panel to the card and flash it rather than
# letting the browser follow the link (Gradio may open chat links in a new tab).
HEAD = """
<script>
document.addEventListener("click", function (event) {
  const link = event.target.closest && event.target.closest("a.nq-cite");
  if (!link) return;
  event.preventDefault();
  event.stopPropagation();
  const card = document.getElementById(link.getAttribute("href").slice(1));
  if (!card) return;
  card.scrollIntoView({behavior: "smooth", block: "nearest"});
  card.classList.add("nq-flash");
  setTimeout(function () { card.classList.remove("nq-flash"); }, 1500);
}, true);
</script>
"""


def parse_day(value: str | None, name: str) -> date | None:
    value = (value or "").strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        raise UserError(f"{name} {value!r} is not a date; use YYYY-MM-DD") from None


def _kind(question: str) -> int:
    """Real questions (from an FAQ or a question heading) first, templated ones after."""
    for rank, prefix in enumerate(("What is known about", "What does the article", "Is it true that"), 1):
        if question.startswith(prefix):
            return rank
    return 0


def pick_questions(records: list[dict], limit: int = MAX_SUGGESTIONS, exclude: set[str] = frozenset()) -> list[str]:
    """Stored questions of these articles, one article at a time, real questions before templated ones."""
    per_article = [[q for q in stored_questions(r) if q not in exclude] for r in records]
    ordered = []
    for depth in range(max((len(q) for q in per_article), default=0)):
        ordered += [qs[depth] for qs in per_article if depth < len(qs)]
    return sorted(ordered, key=_kind)[:limit]


def index_status(report: IndexReport, titles: list[str] = ()) -> str:
    """What an indexing run did, as the library tab's status line and one line per title or failure."""
    lines = [escape_markdown(report.summary())]
    lines += [f"- added: *{escape_markdown(t)}*" for t in titles]
    lines += [f"- ⚠️ {escape_markdown(e)}" for e in report.failed]
    return "\n".join(lines)


class ChatApp:
    """Event handlers of the app, kept apart from the layout so tests can call them directly."""

    def __init__(self, chain: NewsQA, sync: BackgroundSync | None = None, now=None):
        self.chain = chain
        self.store = chain.store
        self.settings = chain.settings
        self.sync = sync  # the scheduled feed sync of `newsqa serve`, when Settings.feeds_sync_minutes > 0
        self.now = now or (lambda: datetime.now(timezone.utc))

    # -- chat ------------------------------------------------------------------
    def filters(self, pinned: list[str], outlets: list[str] | None, since: str | None, until: str | None) -> Filters:
        return Filters(
            sources=list(outlets) if outlets else None,
            since=parse_day(since, "'from' date"),
            until=parse_day(until, "'to' date"),
            article_ids=list(pinned) or None,
        )

    def answer_stream(
        self, question: str, history: list[Turn], filters: Filters
    ) -> Iterator[tuple[str, Answer | None]]:
        """(answer text so far, None) while streaming, then (final text, Answer)."""
        text = ""
        for piece in self.chain.stream(question, history, filters):
            if isinstance(piece, Answer):
                yield piece.text, piece
                return
            if type(piece) is not str:
                # A str subclass is a notice to the user (e.g. a fallback answerer took over): restart the text.
                text = ""
                continue
            text += piece
            yield text, None

    def respond(self, message, messages, history, pinned, outlets, since, until):
        """The chat event: streams the answer into the chat, then fills the sources, query and suggestions."""
        question = (message or "").strip()
        messages = list(messages or [])
        history = list(history or [])
        unchanged = (gr.skip(),) * 7  # sources, query, timeline, pin choices, suggestions (2), history
        if not question:
            yield gr.skip(), gr.skip(), *unchanged
            return
        messages += [
            {"role": "user", "content": escape_markdown(question)},
            {"role": "assistant", "content": "_Searching the articles…_"},
        ]
        yield list(messages), "", *unchanged
        try:
            filters = self.filters(pinned, outlets, since, until)
            for text, answer in self.answer_stream(question, history, filters):
                if answer is None:
                    messages[-1] = {"role": "assistant", "content": answer_markdown(text, link_markers=False)}
                    yield list(messages), "", *unchanged
        except UserError as exc:
            gr.Warning(str(exc))
            messages[-1] = {"role": "assistant", "content": f"⚠️ {escape_markdown(str(exc))}"}
            yield list(messages), "", *unchanged
            return
        notice = getattr(answer, "notice", "")
        messages[-1] = {
            "role": "assistant",
            "content": (f"_{escape_markdown(notice)}_\n\n" if notice else "") + answer_markdown(answer.text),
        }
        history.append(Turn.after(question, answer))
        suggestions = self.followup_questions(answer, history)
        yield (
            messages,
            "",
            sources_html(answer, question),
            answer.query,
            timeline_svg(answer.citations),
            self.pin_choices(answer),
            gr.Dataset(samples=[[q] for q in suggestions]),
            suggestions,
            history,
        )

    def api_chat(self, message: str, history: list[Turn], pinned: list[str]) -> tuple[str, list[Turn]]:
        """Message in; the answer as markdown with [n] markers and its numbered sources out."""
        history = list(history or [])
        try:
            answer = self.chain.ask((message or "").strip(), history, Filters(article_ids=list(pinned or []) or None))
        except UserError as exc:
            raise gr.Error(str(exc)) from None
        history.append(Turn.after(message.strip(), answer))
        return api_markdown(answer), history

    @staticmethod
    def api_history(history: list[Turn]) -> list[dict]:
        """This session's turns: question, retrieval query, answer, cited article ids."""
        return [asdict(t) for t in history or []]

    @staticmethod
    def clear():
        return [], [], [], sources_html(None), "", "", gr.Dropdown(choices=[], value=None), "", []

    # -- suggestions -----------------------------------------------------------
    def start_questions(self) -> list[str]:
        return pick_questions(self.store.articles())

    def followup_questions(self, answer: Answer, history: list[Turn]) -> list[str]:
        asked = {t.question for t in history}
        cited = list(dict.fromkeys(c.article_id for c in answer.citations))
        records = [r for r in (self.store.article(i) for i in cited) if r]
        return pick_questions(records, exclude=asked) or pick_questions(self.store.articles(), exclude=asked)

    @staticmethod
    def suggestion(index: int | None, suggestions: list[str]) -> str:
        return suggestions[index] if index is not None and 0 <= index < len(suggestions or []) else ""

    # -- pinning ---------------------------------------------------------------
    @staticmethod
    def pin_choices(answer: Answer) -> gr.Dropdown:
        seen = {}
        for c in answer.citations:
            seen.setdefault(c.article_id, f"[{c.n}] {c.title} ({c.source})" if c.source else f"[{c.n}] {c.title}")
        choices = [(label, article_id) for article_id, label in seen.items()]
        if choices:
            choices.append(("All articles cited so far", ALL_CITED))
        return gr.Dropdown(choices=choices, value=choices[0][1] if choices else None)

    def pin(self, choice: str | None, history: list[Turn]) -> tuple[list[str], str]:
        if not choice:
            gr.Warning("Choose a source of the last answer to ask about it.")
            return [], ""
        if choice == ALL_CITED:
            ids = list(dict.fromkeys(i for t in history or [] for i in t.cited_article_ids))
        else:
            ids = [choice]
        return ids, self.pin_banner(ids)

    def pin_banner(self, ids: list[str]) -> str:
        if not ids:
            return ""
        titles = [r["title"] for r in (self.store.article(i) for i in ids) if r]
        shown = "; ".join(f"*{escape_markdown(t)}*" for t in titles[:3]) + (" …" if len(titles) > 3 else "")
        return f"**Pinned.** Questions now search only: {shown}. Unpin to search every article again."

    # -- filters and library ---------------------------------------------------
    def outlets(self) -> gr.Dropdown:
        return gr.Dropdown(choices=self.chain.retriever.known_sources())

    def library_rows(self, search: str = "") -> list[list]:
        words = (search or "").lower().split()
        rows = []
        for r in self.store.articles():
            haystack = f"{r.get('title', '')} {r.get('source', '')} {r.get('author', '')}".lower()
            if all(w in haystack for w in words):
                rows.append([r.get("title", ""), r.get("source", ""), day(r.get("published_at", "")), r.get("chunks", 0), r["id"]])
        return rows

    def article_choices(self) -> gr.Dropdown:
        return gr.Dropdown(
            choices=[(f"{r.get('title', '')[:90]} ({r.get('source', '') or 'no outlet'})", r["id"]) for r in self.store.articles()],
            value=None,
        )

    def library_view(self, search: str = ""):
        """Everything that shows the store's contents, refreshed together after a change."""
        return self.library_rows(search), self.article_choices(), self.outlets()

    def add_files(self, files: list[str] | None, search: str, progress=gr.Progress()):
        """Index uploaded files one article at a time, so the progress bar moves."""
        paths = [Path(f if isinstance(f, str) else f.name) for f in files or []]
        if not paths:
            return ("Choose files to add.", *self.library_view(search))
        report = IndexReport()
        items: list = []
        for path in paths:
            # Name the file as the user knows it, not by its temporary upload path.
            items += [
                LoadError(path.name, item.reason) if isinstance(item, LoadError) else item.model_copy(update={"origin": path.name})
                for item in load_path(path, max_bytes=int(self.settings.max_upload_mb * 2**20))
            ]
        titles = []
        for n, item in enumerate(items):
            progress((n, len(items)), desc=f"indexing {n + 1} of {len(items)}")
            one = self.store.add([item])
            for field in ("added", "updated", "unchanged", "failed"):
                getattr(report, field).extend(getattr(one, field))
            report.chunks += one.chunks
            if not isinstance(item, LoadError) and (one.added or one.updated):
                titles.append(item.title)
        return (index_status(report, titles), *self.library_view(search))

    def add_url(self, url: str, search: str):
        """Fetch one web page and index its article."""
        url = (url or "").strip()
        if not is_url(url):
            return (f"{escape_markdown(url or 'Nothing')} is not an http(s) URL; paste the page's address.", *self.library_view(search))
        report = self.store.add(fetch_articles([url], self.settings))
        titles = [r["title"] for r in (self.store.article(i) for i in report.added + report.updated) if r]
        return (index_status(report, titles), *self.library_view(search))

    def add_feed(self, url: str, search: str):
        """Follow a feed and sync it now, so its articles show at once; later syncs run on the schedule."""
        url = (url or "").strip()
        problem = check_feed_url(url, self.settings)
        if problem:
            return (escape_markdown(problem), self.feed_rows(), *self.library_view(search))
        try:
            added = FeedRegistry(self.settings.store).add(url, self.now())
            report = sync_feeds(self.store, self.settings, self.now(), urls=[url])
        except FeedStateError as exc:
            return (f"⚠️ {escape_markdown(str(exc))}", self.feed_rows(), *self.library_view(search))
        head = "Following" if added else "Already following"
        lines = [f"{head} {escape_markdown(url)}: {escape_markdown(report.summary())}"]
        if report.busy and self.sync:
            self.sync.sync_now()
        for feed in report.feeds:
            lines += [f"- ⚠️ {escape_markdown(e)}" for e in feed.failed]
            lines += [f"- {escape_markdown(n)}" for n in feed.notes]
        return ("\n".join(lines), self.feed_rows(), *self.library_view(search))

    def feed_rows(self) -> list[list]:
        """One row per followed feed: address, title, last sync, its result, its first error."""
        try:
            rows = feeds_status(self.settings)
        except FeedStateError as exc:
            return [["", str(exc), "", "", ""]]
        return [
            [r["url"], r["title"], r["last_sync"] or "never", r["last_result"], (r["last_errors"] or [""])[0]] for r in rows
        ]

    def feed_schedule(self) -> str:
        if self.sync is None:
            return "Feeds sync when added here or with `newsqa feeds sync`; set NEWSQA_FEEDS_SYNC_MINUTES to sync on a schedule."
        status = self.sync.status()
        last = f"last sync {status['last_run']}: {status['last_summary'] or status['last_error']}" if status["last_run"] else "first sync running"
        return escape_markdown(f"Feeds sync every {status['every_minutes']:g} minutes; {last}.")

    def feeds_view(self):
        return self.feed_schedule(), self.feed_rows()

    def remove(self, article_id: str | None, search: str):
        if not article_id:
            return ("Choose an article to remove.", *self.library_view(search))
        record = self.store.article(article_id)
        if not record or not self.store.remove(article_id):
            return (f"No article with id {escape_markdown(article_id)}; it may have been removed already.", *self.library_view(search))
        return (f"Removed *{escape_markdown(record.get('title', article_id))}*.", *self.library_view(search))

    @staticmethod
    def selected_row(evt: gr.SelectData) -> str | None:
        """The id (last column) of the clicked library row, to preselect it for removal."""
        row = evt.row_value or []
        return row[-1] if row else None


def create_app(chain: NewsQA, sync: BackgroundSync | None = None) -> gr.Blocks:
    """The chat app over `chain`, built but not served; `sync` is the background feed sync to report on."""
    ui = ChatApp(chain, sync)
    with gr.Blocks(title="newsqa — ask the news") as app:
        history = gr.State([])
        pinned = gr.State([])
        suggestions = gr.State([])
        gr.Markdown("## newsqa — ask the news\nAnswers quote the indexed articles; every claim links to its source.")
        with gr.Tab("Chat"):
            with gr.Row(equal_height=False):
                with gr.Column(scale=3):
                    chat = gr.Chatbot(
                        label="Chat", show_label=False, height=470, elem_id="nq-chat", latex_delimiters=[], buttons=["copy"],
                        placeholder="Ask a question about the news articles in the library.",
                    )
                    pin_banner = gr.Markdown("", elem_id="nq-pin-banner")
                    with gr.Row():
                        message = gr.Textbox(
                            show_label=False, placeholder="Ask about the news…", scale=6, elem_id="nq-message", autofocus=True
                        )
                        send = gr.Button("Ask", variant="primary", scale=1, elem_id="nq-send")
                    suggested = gr.Dataset(
                        label="Suggested questions", components=[gr.Textbox(visible=False)], samples=[],
                        type="index", elem_id="nq-suggestions", samples_per_page=MAX_SUGGESTIONS,
                    )
                    with gr.Accordion("Searched for", open=False, elem_id="nq-query-box"):
                        query = gr.Textbox(show_label=False, interactive=False, elem_id="nq-query")
                    with gr.Accordion("Filters", open=False):
                        outlets = gr.Dropdown(label="Outlets", multiselect=True, choices=[], elem_id="nq-outlets")
                        with gr.Row():
                            since = gr.Textbox(label="From (YYYY-MM-DD)", elem_id="nq-since")
                            until = gr.Textbox(label="To (YYYY-MM-DD)", elem_id="nq-until")
                    clear = gr.Button("New conversation", size="sm", elem_id="nq-clear")
                with gr.Column(scale=2):
                    gr.Markdown("### Sources")
                    sources = gr.HTML(sources_html(None), elem_id="nq-sources")
                    timeline = gr.HTML("", elem_id="nq-timeline")
                    with gr.Row():
                        pin_choice = gr.Dropdown(label="Ask about this source", choices=[], scale=3, elem_id="nq-pin-choice")
                    with gr.Row():
                        pin = gr.Button("Pin: ask only about it", size="sm", elem_id="nq-pin")
                        unpin = gr.Button("Unpin", size="sm", elem_id="nq-unpin")
        with gr.Tab("Library"):
            with gr.Row():
                search = gr.Textbox(label="Search the library", placeholder="title, outlet or author", scale=3, elem_id="nq-lib-search")
                upload = gr.File(
                    label="Add articles (" + " ".join(sorted(SUFFIXES)) + ")", file_count="multiple",
                    file_types=sorted(SUFFIXES), scale=2, elem_id="nq-upload",
                )
            status = gr.Markdown("", elem_id="nq-lib-status")
            table = gr.Dataframe(
                headers=["Title", "Outlet", "Date", "Chunks", "Id"], datatype=["str", "str", "str", "number", "str"],
                column_widths=["52%", "18%", "12%", "7%", "11%"], interactive=False, wrap=True, elem_id="nq-library",
            )
            with gr.Row():
                to_remove = gr.Dropdown(label="Article to remove", choices=[], scale=4, elem_id="nq-remove-choice")
                remove = gr.Button("Remove", variant="stop", scale=1, elem_id="nq-remove")
            with gr.Row():
                page_url = gr.Textbox(label="Add a web page", placeholder="https://…", scale=4, elem_id="nq-url")
                add_page = gr.Button("Add page", scale=1, elem_id="nq-add-url")
            gr.Markdown("### Feeds")
            with gr.Row():
                feed_url = gr.Textbox(label="Follow an RSS or Atom feed", placeholder="https://…/feed.xml", scale=4, elem_id="nq-feed-url")
                add_feed = gr.Button("Follow and sync", scale=1, elem_id="nq-add-feed")
            schedule = gr.Markdown(ui.feed_schedule(), elem_id="nq-feed-schedule")
            feeds = gr.Dataframe(
                headers=["Feed", "Title", "Last sync", "Result", "Last error"], datatype=["str"] * 5,
                interactive=False, wrap=True, elem_id="nq-feeds",
            )
            refresh_feeds = gr.Button("Refresh feed status", size="sm", elem_id="nq-refresh-feeds")
        api_message = gr.Textbox(label="message", visible=False)
        api_answer = gr.Markdown(label="answer", visible=False)
        api_turns = gr.JSON(label="turns", visible=False)
        api_history = gr.Button(visible=False)

        chat_outputs = [chat, message, sources, query, timeline, pin_choice, suggested, suggestions, history]
        chat_inputs = [message, chat, history, pinned, outlets, since, until]
        gr.on([message.submit, send.click], ui.respond, chat_inputs, chat_outputs, api_visibility="private", concurrency_limit=4)
        suggested.click(ui.suggestion, [suggested, suggestions], message, api_visibility="private").then(
            ui.respond, chat_inputs, chat_outputs, api_visibility="private", concurrency_limit=4
        )
        pin.click(ui.pin, [pin_choice, history], [pinned, pin_banner], api_visibility="private")
        unpin.click(lambda: ([], ""), None, [pinned, pin_banner], api_visibility="private")
        clear.click(ui.clear, None, [chat, history, pinned, sources, query, timeline, pin_choice, pin_banner, suggestions],
                    api_visibility="private").then(
            lambda: (gr.Dataset(samples=[[q] for q in ui.start_questions()]), ui.start_questions()),
            None, [suggested, suggestions], api_visibility="private",
        )

        library_outputs = [table, to_remove, outlets]
        search.change(ui.library_rows, search, table, api_visibility="private")
        upload.upload(ui.add_files, [upload, search], [status, *library_outputs], api_visibility="private")
        remove.click(ui.remove, [to_remove, search], [status, *library_outputs], api_visibility="private")
        table.select(ui.selected_row, None, to_remove, api_visibility="private")
        gr.on([page_url.submit, add_page.click], ui.add_url, [page_url, search], [status, *library_outputs], api_visibility="private")
        gr.on([feed_url.submit, add_feed.click], ui.add_feed, [feed_url, search], [status, feeds, *library_outputs],
              api_visibility="private")
        refresh_feeds.click(ui.feeds_view, None, [schedule, feeds], api_visibility="private")

        def on_load():
            questions = ui.start_questions()
            return (gr.Dataset(samples=[[q] for q in questions]), questions, *ui.library_view(""), *ui.feeds_view())

        app.load(on_load, None, [suggested, suggestions, *library_outputs, schedule, feeds], api_visibility="private")

        api_message.submit(ui.api_chat, [api_message, history, pinned], [api_answer, history], api_name="chat", concurrency_limit=4)
        api_history.click(ui.api_history, history, api_turns, api_name="history")
    return app


def launch(app: gr.Blocks, settings: Settings, share: bool = False, block: bool = True) -> gr.Blocks:
    """Serve the app on settings.host:settings.port; with auth_user and auth_password set, only to them."""
    auth = (settings.auth_user, settings.auth_password) if settings.auth_user and settings.auth_password else None
    app.queue(default_concurrency_limit=1)
    app.launch(
        server_name=settings.host,
        server_port=settings.port,
        share=share,
        auth=auth,
        prevent_thread_lock=not block,
        css=CSS,
        head=HEAD,
        theme=gr.themes.Soft(),
        show_error=False,
        quiet=not block,
        max_file_size=int(settings.max_upload_mb * 2**20),
    )
    return app
