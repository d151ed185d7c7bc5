"""Answers and sources as markdown/HTML for the chat app: pure functions on Answer and Citation.

Article text is untrusted (any web page can be indexed): every piece of it is HTML-escaped here, and
links are kept only when they are http(s), so nothing an article contains can run in the browser.
"""

from __future__ import annotations

import html
import re
from datetime import date
from urllib.parse import urlparse

from chatbot.answering import Answer, Citation
from index.structure import stored_faq, stored_key_points
from index.text import content_words, split_sentences

SOURCE_ANCHOR = "nq-src-{n}"
# Markdown punctuation that could turn article text into links, images, emphasis, code or LaTeX.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#!|~$])")
_ESCAPED_MARKER = re.compile(r"\\\[(\d{1,3})\\\]")
_TOKEN = re.compile(r"\w+|[^\w\s]")


def safe_url(url: str) -> str:
    """The URL when it is an absolute http(s) link, else '' (no javascript:, data:, relative paths)."""
    url = (url or "").strip()
    try:
        parsed = urlparse(url)
    except ValueError:
        return ""
    return url if parsed.scheme in {"http", "https"} and parsed.netloc else ""


def escape_markdown(text: str) -> str:
    """Text shown as itself inside markdown: HTML escaped, markdown punctuation backslashed."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", html.escape(text, quote=False))


def answer_markdown(text: str, link_markers: bool = True) -> str:
    """Answer text for the chat: escaped, with each [n] a link to source n in the sources panel."""
    escaped = escape_markdown(text)
    if not link_markers:
        return _ESCAPED_MARKER.sub(r"[\1]", escaped)
    return _ESCAPED_MARKER.sub(
        lambda m: f'<a class="nq-cite" href="#{SOURCE_ANCHOR.format(n=m.group(1))}">[{m.group(1)}]</a>', escaped
    )


def day(published_at: str) -> str:
    return published_at[:10] if re.match(r"\d{4}-\d{2}-\d{2}", published_at or "") else ""


def locate(passage: str, sentence: str) -> tuple[int, int] | None:
    """Where `sentence` is in `passage` (ignoring spacing); else the passage sentence sharing most words."""
    sentence = sentence.strip()
    if not sentence:
        return None
    start = passage.find(sentence)
    if start >= 0:
        return start, start + len(sentence)
    tokens = _TOKEN.findall(sentence)
    if tokens:
        found = re.search(r"\s*".join(map(re.escape, tokens)), passage)
        if found:
            return found.span()
    # An LLM may paraphrase: fall back to the most similar passage sentence, when it is clearly similar.
    wanted = content_words(sentence)
    best, best_score = None, 0.5
    for candidate in split_sentences(passage):
        words = content_words(candidate)
        score = len(wanted & words) / max(1, len(wanted | words))
        if score > best_score:
            best, best_score = candidate, score
    if best is None:
        return None
    start = passage.find(best)
    return (start, start + len(best)) if start >= 0 else None


# Characters of the passage shown on each side of the supporting sentence before "Show the whole passage".
CONTEXT_CHARS = 160


def _cut(text: str, keep: int, from_end: bool) -> tuple[str, str]:
    """(hidden, shown) parts of `text`, showing about `keep` characters at its end (or start), cut at a space."""
    if len(text) <= keep:
        return ("", text) if from_end else (text, "")
    if from_end:
        at = text.find(" ", len(text) - keep)
        at = len(text) - keep if at < 0 else at
        return text[:at], text[at:]
    at = text.rfind(" ", 0, keep)
    at = keep if at < 0 else at
    return text[at:], text[:at]


def highlighted_passage(passage: str, sentence: str) -> str:
    """The passage with its supporting sentence marked and a little context around it shown; the rest of
    the passage is in hidden spans that "Show the whole passage" reveals."""
    span = locate(passage, sentence)
    if span is None:
        hidden, shown = _cut(passage, 2 * CONTEXT_CHARS, from_end=False)
        parts = [("", shown), ("nq-rest", hidden)]
    else:
        a, b = span
        hidden_before, before = _cut(passage[:a], CONTEXT_CHARS, from_end=True)
        hidden_after, after = _cut(passage[b:], CONTEXT_CHARS, from_end=False)
        parts = [("nq-rest", hidden_before), ("", before), ("mark", passage[a:b]), ("", after), ("nq-rest", hidden_after)]
    out = []
    for kind, text in parts:
        if not text:
            continue
        if kind == "mark":
            out.append(f"<mark>{html.escape(text)}</mark>")
        elif kind:
            out.append(f'<span class="{kind}">{html.escape(text)}</span><span class="nq-ellipsis">…</span>')
        else:
            out.append(html.escape(text))
    more = '<button class="nq-more" type="button">Show the whole passage</button>' if any(k == "nq-rest" and t for k, t in parts) else ""
    return "".join(out) + more


def article_origin(record: dict | None) -> str:
    """Where an article came from when it names no outlet and no date: its file name or web address."""
    origin = (record or {}).get("origin", "")
    return origin.replace("\\", "/").rsplit("/", 1)[-1] if origin and not safe_url(origin) else origin


def article_card(citations: list[Citation], record: dict | None = None) -> str:
    """One card per article: title (linked to the original), outlet, date, then each cited passage."""
    c = citations[0]
    url = safe_url(c.url)
    title = html.escape(c.title or "(untitled)")
    heading = (
        f'<a href="{html.escape(url, quote=True)}" target="_blank" rel="noopener noreferrer nofollow">{title}</a>'
        if url else title
    )
    meta = " · ".join(html.escape(x) for x in (outlet_line(c.source, c.also_published_by), day(c.published_at)) if x)
    if not meta:
        origin = article_origin(record)
        meta = f"from {html.escape(origin)}" if origin else "no outlet or date recorded"
    numbers = "".join(f'<span class="nq-n">{x.n}</span>' for x in citations)
    passages = "".join(
        f'<div class="nq-passage" id="{SOURCE_ANCHOR.format(n=x.n)}" data-n="{x.n}"><span class="nq-n">{x.n}</span>'
        f'<blockquote>{highlighted_passage(x.text, x.sentence)}</blockquote></div>'
        for x in citations
    )
    return (
        f'<div class="nq-source" data-article="{html.escape(c.article_id, quote=True)}">'
        f'<div class="nq-source-head">{numbers}<span class="nq-title">{heading}</span></div>'
        f'<div class="nq-meta">{meta}</div>{passages}{about_article(record)}</div>'
    )


def about_article(record: dict | None) -> str:
    """The article's own key points and FAQ questions (read at ingest), folded under its passages; "" when it has none."""
    if not record:
        return ""
    parts = []
    points = stored_key_points(record)
    if points:
        items = "".join(f"<li>{html.escape(p)}</li>" for p in points)
        parts.append(f'<details class="nq-about"><summary>Key points</summary><ul>{items}</ul></details>')
    faq = stored_faq(record)
    if faq:
        items = "".join(f"<li><b>{html.escape(p.question)}</b> {html.escape(p.answer)}</li>" for p in faq)
        parts.append(f'<details class="nq-about"><summary>This article’s FAQ</summary><ul>{items}</ul></details>')
    return "".join(parts)


def by_article(citations: list[Citation]) -> list[list[Citation]]:
    """The citations grouped by article, articles in order of their first citation."""
    groups: dict[str, list[Citation]] = {}
    for c in citations:
        groups.setdefault(c.article_id, []).append(c)
    return list(groups.values())


def outlets_say(citations: list[Citation]) -> list[tuple[str, Citation]]:
    """One cited sentence per outlet (its first citation), when the citations come from two outlets or more."""
    first: dict[str, Citation] = {}
    for c in citations:
        if c.source and (c.sentence or c.text):
            first.setdefault(c.source, c)
    return list(first.items()) if len(first) > 1 else []


def shorten(text: str, limit: int) -> str:
    """`text` cut at a word before `limit` characters (marked with …) when longer."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: text.rfind(" ", 0, limit) if " " in text[:limit] else limit] + " …"


def outlets_html(citations: list[Citation]) -> str:
    views = outlets_say(citations)
    if not views:
        return ""
    items = "".join(
        f'<li><span class="nq-outlet">{html.escape(outlet)}</span> <span class="nq-n">{c.n}</span> '
        f'“{html.escape(shorten(c.sentence or c.text, 240))}”</li>'
        for outlet, c in views
    )
    return f'<div class="nq-compare"><div class="nq-compare-title">What each outlet says</div><ul>{items}</ul></div>'


def sources_html(answer: Answer | None, question: str = "", records: dict[str, dict] | None = None) -> str:
    """The cited articles of `answer`, one card each with its numbered passages, under the question they
    answer; `records` (article id to store record) says where an article without outlet or date came from.
    The panel is a <details> so a phone can keep it folded under the answer."""
    if answer is None:
        return _panel("Sources", '<div class="nq-sources nq-empty">The sources of each answer appear here, numbered as in the answer.</div>')
    asked = f'<div class="nq-asked" title="{html.escape(question, quote=True)}">{html.escape(question)}</div>' if question else ""
    if not answer.citations:
        return _panel("Sources", f'<div class="nq-sources nq-empty">{asked}No indexed article supports an answer to this question.</div>')
    records = records or {}
    groups = by_article(answer.citations)
    cards = "".join(article_card(group, records.get(group[0].article_id)) for group in groups)
    head = f"Sources · {len(groups)} article{'s' if len(groups) > 1 else ''}"
    return _panel(head, f'<div class="nq-sources">{asked}{outlets_html(answer.citations)}{cards}</div>')


def _panel(head: str, body: str) -> str:
    return f'<details class="nq-panel" open><summary class="nq-panel-head">{html.escape(head)}</summary>{body}</details>'


def timeline_svg(citations: list[Citation], width: int = 340, height: int = 56) -> str:
    """The cited articles by publication date: dots on an axis, then each article's date and title."""
    articles: dict[str, tuple[date, list[int], str, str]] = {}
    for c in citations:
        d = day(c.published_at)
        if d:
            when, numbers, title, source = articles.setdefault(c.article_id, (date.fromisoformat(d), [], c.title, c.source))
            numbers.append(c.n)
    if not articles:
        return ""
    rows = sorted(articles.values(), key=lambda r: r[0])
    days = sorted({r[0] for r in rows})
    first, last = days[0], days[-1]
    span = max(1, (last - first).days)
    left, right, axis_y = 24, width - 24, 22
    parts = [
        f'<svg class="nq-timeline" viewBox="0 0 {width} {height}" role="img" aria-label="Cited articles by publication date">',
        f'<line x1="{left}" y1="{axis_y}" x2="{right}" y2="{axis_y}" class="nq-axis"/>',
    ]
    for when in days:
        x = left + (right - left) * (when - first).days / span if last != first else (left + right) / 2
        tip = html.escape("; ".join(f"{title}" for w, _, title, _ in rows if w == when))
        parts.append(f'<g><title>{when.isoformat()}: {tip}</title><circle cx="{x:.1f}" cy="{axis_y}" r="5" class="nq-dot"/></g>')
    parts.append(f'<text x="{left}" y="{height - 8}" class="nq-date">{first.isoformat()}</text>')
    if last != first:
        parts.append(f'<text x="{right}" y="{height - 8}" text-anchor="end" class="nq-date">{last.isoformat()}</text>')
    parts.append("</svg>")
    items = "".join(
        f'<li><time>{when.isoformat()}</time> {"".join(f"<span class=nq-n>{n}</span>" for n in numbers)} '
        f'<span class="nq-timeline-article">{html.escape(title)}</span>'
        + (f' <span class="nq-timeline-outlet">({html.escape(source)})</span>' if source else "") + "</li>"
        for when, numbers, title, source in rows
    )
    title = '<div class="nq-timeline-title">When the sources were published</div>'
    return f'<div class="nq-timeline-box">{title}{"".join(parts)}<ol class="nq-timeline-list">{items}</ol></div>'


def api_markdown(answer: Answer) -> str:
    """The answer for API callers: its text with [n] markers, then the numbered sources (text as written)."""
    if not answer.citations:
        return answer.text
    lines = [answer.text, "", "Sources:"]
    for c in answer.citations:
        meta = ", ".join(x for x in (c.source, day(c.published_at)) if x)
        url = safe_url(c.url)
        lines.append(f"[{c.n}] {c.title}" + (f" ({meta})" if meta else "") + (f" <{url}>" if url else ""))
    return "\n".join(lines)


def outlet_line(source: str, also: list[str]) -> str:
    """'AP, also published by X and Y' (or just 'AP')."""
    others = [o for o in dict.fromkeys(also) if o and o != source]
    if not others:
        return source
    named = others[0] if len(others) == 1 else f"{', '.join(others[:-1])} and {others[-1]}"
    return f"{source}, also published by {named}" if source else f"also published by {named}"
