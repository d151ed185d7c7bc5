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


def highlighted_passage(passage: str, sentence: str) -> str:
    span = locate(passage, sentence)
    if span is None:
        return html.escape(passage)
    a, b = span
    return f"{html.escape(passage[:a])}<mark>{html.escape(passage[a:b])}</mark>{html.escape(passage[b:])}"


def source_card(c: Citation) -> str:
    url = safe_url(c.url)
    title = html.escape(c.title or "(untitled)")
    heading = (
        f'<a href="{html.escape(url, quote=True)}" target="_blank" rel="noopener noreferrer nofollow">{title}</a>'
        if url else title
    )
    meta = " · ".join(html.escape(x) for x in (c.source, day(c.published_at)) if x)
    return (
        f'<div class="nq-source" id="{SOURCE_ANCHOR.format(n=c.n)}" data-article="{html.escape(c.article_id, quote=True)}">'
        f'<div class="nq-source-head"><span class="nq-n">{c.n}</span><span class="nq-title">{heading}</span></div>'
        f'<div class="nq-meta">{meta}</div>'
        f'<blockquote class="nq-passage">{highlighted_passage(c.text, c.sentence)}</blockquote></div>'
    )


def sources_html(answer: Answer | None, question: str = "") -> str:
    """The numbered source cards of `answer`, under the question they answer."""
    if answer is None:
        return '<div class="nq-sources nq-empty">The sources of each answer appear here, numbered as in the answer.</div>'
    asked = f'<div class="nq-asked">{html.escape(question)}</div>' if question else ""
    if not answer.citations:
        return f'<div class="nq-sources nq-empty">{asked}No indexed article supports an answer to this question.</div>'
    return f'<div class="nq-sources">{asked}' + "".join(source_card(c) for c in answer.citations) + "</div>"


def timeline_svg(citations: list[Citation], width: int = 340, height: int = 74) -> str:
    """A small timeline of the cited articles by publication date, when at least two dated articles are cited."""
    by_day: dict[date, list[tuple[int, str]]] = {}
    articles = set()
    for c in citations:
        d = day(c.published_at)
        if d:
            by_day.setdefault(date.fromisoformat(d), []).append((c.n, c.title))
            articles.add(c.article_id)
    if len(articles) < 2:
        return ""
    days = sorted(by_day)
    first, last = days[0], days[-1]
    span = max(1, (last - first).days)
    left, right, axis_y = 24, width - 24, 40
    parts = [
        f'<svg class="nq-timeline" viewBox="0 0 {width} {height}" role="img" aria-label="Cited articles by publication date">',
        f'<line x1="{left}" y1="{axis_y}" x2="{right}" y2="{axis_y}" class="nq-axis"/>',
    ]
    for when in days:
        x = left + (right - left) * (when - first).days / span if last != first else (left + right) / 2
        label = html.escape(" ".join(f"[{n}]" for n, _ in by_day[when]))
        tip = html.escape("; ".join(f"[{n}] {title}" for n, title in by_day[when]))
        parts.append(
            f'<g><title>{when.isoformat()}: {tip}</title>'
            f'<circle cx="{x:.1f}" cy="{axis_y}" r="5" class="nq-dot"/>'
            f'<text x="{x:.1f}" y="{axis_y - 10}" text-anchor="middle" class="nq-label">{label}</text></g>'
        )
    parts.append(f'<text x="{left}" y="{height - 8}" class="nq-date">{first.isoformat()}</text>')
    if last != first:
        parts.append(f'<text x="{right}" y="{height - 8}" text-anchor="end" class="nq-date">{last.isoformat()}</text>')
    parts.append("</svg>")
    title = '<div class="nq-timeline-title">When the sources were published</div>'
    return f'<div class="nq-timeline-box">{title}{"".join(parts)}</div>'


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
