"""The chat in the browser: a thin Gradio layer over NewsQA.

`create_app(chain)` builds the Blocks (nothing is served); `launch(app, settings)` serves it. Each
browser session keeps its own history (a gr.State list of Turns) and its own pinned articles; the
chain, the store and the retriever are shared. The chat is also an API endpoint named `chat`.
"""

from __future__ import annotations

import logging
from dataclasses import asdict
from datetime import datetime, timezone
from importlib.resources import files
from typing import Iterator

from starlette.routing import Mount

from chatbot.answering import Answer
from chatbot.chain import Filters, NewsQA
from chatbot.followup import Turn
from chatbot.gradio_import import import_gradio
from chatbot.library import SUFFIXES, Added, Library
from chatbot.rendering import answer_markdown, api_markdown, article_origin, day, escape_markdown, outlet_line, sources_html, timeline_svg
from chatbot.settings import Settings
from index.articles import parse_day
from index.errors import UserError
from index.feeds import BackgroundSync
from chatbot.suggestions import Suggestions

gr = import_gradio()
log = logging.getLogger(__name__)

ALL_CITED = "__all_cited__"
MAX_SUGGESTIONS = 6
FOLLOWUPS = 3  # related questions offered after an answer
# A question longer than the cap is shown cut to this many characters above its one-line refusal.
SHOWN_QUESTION_CHARS = 300



def static_text(name: str) -> str:
    """A file of chatbot/static (the app's stylesheet and script)."""
    return files("chatbot").joinpath("static", name).read_text(encoding="utf-8")


def index_status(added: Added) -> str:
    """What an indexing run did, as the library tab's status line and one line per title, copy or failure."""
    lines = [escape_markdown(added.report.summary())]
    lines += [f"- added: *{escape_markdown(t)}*" for t in added.titles]
    lines += [f"- merged as a copy of an indexed story: {escape_markdown(copy)}" for copy, _ in added.report.merged]
    lines += [f"- ⚠️ {escape_markdown(e)}" for e in added.report.failed]
    return "\n".join(lines)


def suggestion_choices(questions: list[str]) -> gr.Radio:
    # Radio choices show a question whole; Gradio's example samples cut text at 60 characters with "...".
    return gr.Radio(choices=questions, value=None)


class ChatApp:
    """Event handlers of the app, kept apart from the layout so tests can call them directly."""

    def __init__(self, chain: NewsQA, sync: BackgroundSync | None = None, now=None):
        self.chain = chain
        self.store = chain.store
        self.settings = chain.settings
        self.sync = sync  # the scheduled feed sync of `newsqa serve`, when Settings.feeds_sync_minutes > 0
        self.library = Library(self.settings, self.store, now or (lambda: datetime.now(timezone.utc)))
        self.suggestions = Suggestions(chain)

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
        unchanged = (gr.skip(),) * 8  # sources, query, timeline, pin choices, pin controls, suggestions (2), history
        if not question:
            yield gr.skip(), gr.skip(), *unchanged
            return
        shown = question if len(question) <= SHOWN_QUESTION_CHARS else question[:SHOWN_QUESTION_CHARS] + " …"
        messages += [
            {"role": "user", "content": escape_markdown(shown)},
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
        records = {c.article_id: self.store.article(c.article_id) for c in answer.citations}
        yield (
            messages,
            "",
            sources_html(answer, question, records),
            answer.query,
            timeline_svg(answer.citations),
            self.pin_choices(answer),
            gr.Group(visible=bool(answer.citations)),
            suggestion_choices(suggestions),
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
        """What "New conversation" and the chat's clear button reset: the messages, the history that follow-ups
        are searched with, the pinned articles and everything shown about the last answer."""
        return [], *ChatApp.unpin()

    @staticmethod
    def unpin():
        """Unpinning ends the pinned conversation: history, pin, sources, query and timeline are reset, so the
        next question is searched over every article as a first question."""
        return [], [], sources_html(None), "", "", gr.Dropdown(choices=[], value=None), gr.Group(visible=False), "", []

    # -- suggestions -----------------------------------------------------------
    def start_questions(self) -> list[str]:
        return self.suggestions.start(MAX_SUGGESTIONS)

    def start_suggestions(self):
        questions = self.start_questions()
        return suggestion_choices(questions), questions

    def followup_questions(self, answer: Answer, history: list[Turn]) -> list[str]:
        return self.suggestions.after(answer, history[-1].question if history else "", {t.question for t in history}, FOLLOWUPS)


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
    @staticmethod
    def chips(outlets: list[str] | None, since: str | None, until: str | None) -> list[tuple[str, str]]:
        """The active filters as (label, key) chips; removing a chip clears the filter its key names."""
        chips = [(f"Outlet: {o}", f"outlet:{o}") for o in outlets or []]
        chips += [(f"From {since.strip()}", "since:")] if (since or "").strip() else []
        chips += [(f"To {until.strip()}", "until:")] if (until or "").strip() else []
        return chips

    @staticmethod
    def remove_filter(key: str, outlets: list[str] | None, since: str, until: str):
        kind, _, value = key.partition(":")
        if kind == "outlet":
            return [o for o in outlets or [] if o != value], since, until
        return outlets, "" if kind == "since" else since, "" if kind == "until" else until

    def outlets(self) -> gr.Dropdown:
        return gr.Dropdown(choices=self.chain.retriever.known_sources())

    def library_rows(self, search: str = "") -> list[list]:
        """Title, outlet (or the file it came from), date and chunk count of each article, newest first."""
        return [row for row, _ in self._library(search)]

    def _library(self, search: str) -> list[tuple[list, str]]:
        return [
            (
                [r.get("title", ""), outlet_line(r.get("source", ""), r.get("also_published_by") or []) or article_origin(r),
                 day(r.get("published_at", "")), r.get("chunks", 0)],
                r["id"],
            )
            for r in self.library.articles(search)
        ]

    def library_table(self, search: str = "") -> tuple[list[list], list[str]]:
        """The table's rows and, in the same order, their article ids."""
        listed = self._library(search)
        return [row for row, _ in listed], [i for _, i in listed]

    def article_choices(self) -> gr.Dropdown:
        return gr.Dropdown(
            choices=[(f"{r.get('title', '')[:90]} ({r.get('source', '') or 'no outlet'})", r["id"]) for r in self.store.articles()],
            value=None,
        )

    def library_count(self) -> str:
        stats = self.store.stats()
        return f"**{stats['articles']:,}** articles, **{stats['chunks']:,}** passages (chunks) indexed."

    def library_view(self, search: str = ""):
        """Everything that shows the store's contents, refreshed together after a change: the table, the
        removal choices, the outlet filter, the ids of the table's rows and the counts."""
        rows, ids = self.library_table(search)
        return rows, self.article_choices(), self.outlets(), ids, self.library_count()

    def add_files(self, files: list[str] | None, search: str, progress=gr.Progress()):
        """Index uploaded files one article at a time, so the progress bar moves."""
        paths = [f if isinstance(f, str) else f.name for f in files or []]
        if not paths:
            return ("Choose files to add.", *self.library_view(search))
        added = self.library.upload(paths, lambda n, total: progress((n, total), desc=f"indexing {n + 1} of {total}"))
        return (index_status(added), *self.library_view(search))

    def add_url(self, url: str, search: str):
        """Fetch one web page and index its article."""
        try:
            added = self.library.add_url(url)
        except UserError as exc:
            return (escape_markdown(f"{exc}."), *self.library_view(search))
        return (index_status(added), *self.library_view(search))

    def add_feed(self, url: str, search: str):
        """Follow a feed and sync it now, so its articles show at once; later syncs run on the schedule."""
        url = (url or "").strip()
        try:
            followed = self.library.follow(url)
            report = self.library.sync([url])
        except UserError as exc:
            return (f"⚠️ {escape_markdown(str(exc))}", self.feed_rows(), *self.library_view(search))
        head = "Following" if followed else "Already following"
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
            rows = self.library.feeds()
        except UserError as exc:
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

    def confirm_remove(self, article_id: str | None):
        """The first click on Remove: ask before deleting (the confirmation row and its question)."""
        record = self.store.article(article_id) if article_id else None
        if not record:
            return gr.Group(visible=False), "Choose an article to remove (click its row, or pick it in the list)."
        return gr.Group(visible=True), f"Remove *{escape_markdown(record.get('title', article_id))}* from the library?"

    def remove(self, article_id: str | None, search: str):
        if not article_id:
            return ("Choose an article to remove.", *self.library_view(search))
        try:
            record = self.library.remove(article_id)
        except UserError:
            return (f"No article with id {escape_markdown(article_id)}; it may have been removed already.", *self.library_view(search))
        return (f"Removed *{escape_markdown(record.get('title', article_id))}*.", *self.library_view(search))

    @staticmethod
    def selected_row(ids: list[str], evt: gr.SelectData) -> str | None:
        """The id of the clicked library row, to preselect it for removal."""
        row = evt.index[0] if isinstance(evt.index, (list, tuple)) else evt.index
        return ids[row] if isinstance(row, int) and 0 <= row < len(ids or []) else None


def create_app(chain: NewsQA, sync: BackgroundSync | None = None) -> gr.Blocks:
    """The chat app over `chain`, built but not served; `sync` is the background feed sync to report on."""
    ui = ChatApp(chain, sync)
    private = dict(api_visibility="private")
    with gr.Blocks(title="newsqa — ask the news") as app:
        history = gr.State([])
        pinned = gr.State([])
        suggestions = gr.State([])
        row_ids = gr.State([])
        # The filters are made here and placed in the Filters section below, so the chips above the question
        # box (placed before that section) can read them.
        outlets = gr.Dropdown(label="Outlets", multiselect=True, choices=[], elem_id="nq-outlets", render=False)
        since = gr.Textbox(label="From (YYYY-MM-DD)", elem_id="nq-since", render=False)
        until = gr.Textbox(label="To (YYYY-MM-DD)", elem_id="nq-until", render=False)
        gr.Markdown("## newsqa — ask the news\nAnswers quote the indexed articles; every claim links to its source.")
        with gr.Tab("Chat"):
            with gr.Row(equal_height=False, elem_id="nq-main"):
                with gr.Column(scale=3, min_width=320, elem_id="nq-chat-col"):
                    chat = gr.Chatbot(
                        label="Chat", show_label=False, height=470, elem_id="nq-chat", latex_delimiters=[], buttons=["copy"],
                        placeholder="Ask a question about the news articles in the library.",
                    )
                    pin_banner = gr.Markdown("", elem_id="nq-pin-banner")
                    # The active filters as removable chips above the question box, so they show with Filters collapsed.
                    @gr.render(inputs=[outlets, since, until], triggers=[app.load, outlets.change, since.blur, since.submit, until.blur, until.submit])
                    def filter_chips(chosen, start, end):
                        chips = ui.chips(chosen, start, end)
                        if not chips:
                            return
                        with gr.Row(elem_classes="nq-chip-row"):
                            for label, key in chips:
                                chip = gr.Button(f"{label}  ✕", size="sm", elem_classes="nq-chip", min_width=0, scale=0)
                                chip.click(lambda o, a, b, key=key: ui.remove_filter(key, o, a, b), [outlets, since, until],
                                           [outlets, since, until], **private)

                    with gr.Row(elem_id="nq-ask-row"):
                        message = gr.Textbox(
                            show_label=False, placeholder="Ask about the news…", scale=6, elem_id="nq-message", autofocus=True,
                            max_lines=6,
                        )
                        send = gr.Button("Ask", variant="primary", scale=1, min_width=70, elem_id="nq-send")
                    suggested = gr.Radio(label="Suggested questions", choices=[], elem_id="nq-suggestions")
                    with gr.Accordion("Searched for", open=False, elem_id="nq-query-box"):
                        query = gr.Textbox(show_label=False, interactive=False, elem_id="nq-query", max_lines=4)
                    with gr.Accordion("Filters", open=False, elem_id="nq-filters"):
                        outlets.render()
                        with gr.Row():
                            since.render()
                            until.render()
                    clear = gr.Button("New conversation", size="sm", elem_id="nq-clear")
                with gr.Column(scale=2, min_width=320, elem_id="nq-side"):
                    sources = gr.HTML(sources_html(None), elem_id="nq-sources")
                    timeline = gr.HTML("", elem_id="nq-timeline")
                    with gr.Group(visible=False, elem_id="nq-pin-box") as pin_box:
                        pin_choice = gr.Dropdown(label="Ask about this source", choices=[], elem_id="nq-pin-choice")
                        with gr.Row():
                            pin = gr.Button("Pin: ask only about it", size="sm", elem_id="nq-pin")
                            unpin = gr.Button("Unpin", size="sm", elem_id="nq-unpin")
        with gr.Tab("Library"):
            with gr.Row():
                search = gr.Textbox(label="Search the library", placeholder="title, outlet or author", scale=3, elem_id="nq-lib-search")
                upload = gr.File(
                    label="Add articles: " + ", ".join(sorted(SUFFIXES)), file_count="multiple",
                    file_types=sorted(SUFFIXES), scale=2, elem_id="nq-upload",
                )
            status = gr.Markdown("", elem_id="nq-lib-status")
            count = gr.Markdown("", elem_id="nq-lib-count")
            table = gr.Dataframe(
                headers=["Title", "Outlet", "Date", "Chunks"], datatype=["str", "str", "str", "number"],
                column_widths=["56%", "22%", "13%", "9%"], interactive=False, wrap=True, elem_id="nq-library",
            )
            with gr.Row():
                to_remove = gr.Dropdown(label="Article to remove", choices=[], scale=4, elem_id="nq-remove-choice")
                remove = gr.Button("Remove…", variant="stop", scale=1, elem_id="nq-remove")
            with gr.Group(visible=False, elem_id="nq-remove-confirm") as confirm_box:
                confirm_text = gr.Markdown("", elem_id="nq-remove-question")
                with gr.Row():
                    remove_yes = gr.Button("Yes, remove it", variant="stop", size="sm", elem_id="nq-remove-yes")
                    remove_no = gr.Button("Cancel", size="sm", elem_id="nq-remove-cancel")
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

        chat_outputs = [chat, message, sources, query, timeline, pin_choice, pin_box, suggested, suggestions, history]
        chat_inputs = [message, chat, history, pinned, outlets, since, until]
        gr.on([message.submit, send.click], ui.respond, chat_inputs, chat_outputs, concurrency_limit=4, **private)
        suggested.input(lambda question: question or "", suggested, message, **private).then(
            ui.respond, chat_inputs, chat_outputs, concurrency_limit=4, **private
        )
        pin.click(ui.pin, [pin_choice, history], [pinned, pin_banner], **private)
        reset = [history, pinned, sources, query, timeline, pin_choice, pin_box, pin_banner, suggestions]
        unpin.click(ui.unpin, None, reset, **private).then(ui.start_suggestions, None, [suggested, suggestions], **private)
        clear.click(ui.clear, None, [chat, *reset], **private).then(ui.start_suggestions, None, [suggested, suggestions], **private)
        chat.clear(ui.unpin, None, reset, **private).then(ui.start_suggestions, None, [suggested, suggestions], **private)

        library_outputs = [table, to_remove, outlets, row_ids, count]
        search.change(ui.library_table, search, [table, row_ids], **private)
        upload.upload(ui.add_files, [upload, search], [status, *library_outputs], **private).then(lambda: None, None, upload, **private)
        remove.click(ui.confirm_remove, to_remove, [confirm_box, confirm_text], **private)
        remove_no.click(lambda: gr.Group(visible=False), None, confirm_box, **private)
        remove_yes.click(ui.remove, [to_remove, search], [status, *library_outputs], **private).then(
            lambda: gr.Group(visible=False), None, confirm_box, **private
        )
        table.select(ui.selected_row, row_ids, to_remove, **private)
        gr.on([page_url.submit, add_page.click], ui.add_url, [page_url, search], [status, *library_outputs], **private)
        gr.on([feed_url.submit, add_feed.click], ui.add_feed, [feed_url, search], [status, feeds, *library_outputs], **private)
        refresh_feeds.click(ui.feeds_view, None, [schedule, feeds], **private)

        def on_load():
            return (*ui.start_suggestions(), *ui.library_view(""), *ui.feeds_view())

        app.load(on_load, None, [suggested, suggestions, *library_outputs, schedule, feeds], **private)

        api_message.submit(ui.api_chat, [api_message, history, pinned], [api_answer, history], api_name="chat", concurrency_limit=4)
        api_history.click(ui.api_history, history, api_turns, api_name="history")
    return app


def launch(app: gr.Blocks, settings: Settings, share: bool = False, block: bool = True, api=None) -> gr.Blocks:
    """Serve the app on settings.host:settings.port; with auth_user and auth_password set, only to them.
    `api` (an ASGI app, e.g. chatbot.api.openai_api) is served at /v1 in the same server; it checks the password itself."""
    auth = (settings.auth_user, settings.auth_password) if settings.auth_user and settings.auth_password else None
    # Routes given to the FastAPI app gradio builds come before gradio's own.
    app_kwargs = {"routes": [Mount("/v1", app=api)]} if api is not None else None
    app.queue(default_concurrency_limit=1)
    app.launch(
        server_name=settings.host,
        server_port=settings.port,
        share=share,
        auth=auth,
        prevent_thread_lock=not block,
        css=static_text("app.css"),
        head=f"<script>\n{static_text('app.js')}</script>",
        theme=gr.themes.Soft(),
        show_error=False,
        quiet=not block,
        max_file_size=int(settings.max_upload_mb * 2**20),
        app_kwargs=app_kwargs,
    )
    return app
