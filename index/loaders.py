"""Turn files and folders into Articles; every bad input becomes one LoadError line, never an exception."""

from __future__ import annotations

import codecs
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import charset_normalizer
import frontmatter
from pydantic import ValidationError

from index.articles import Article

SUFFIXES = {".txt", ".md", ".markdown", ".html", ".htm", ".json", ".jsonl"}
MAX_FILE_BYTES = 20 * 1024 * 1024
# Below this, what trafilatura found is a menu, a cookie banner or an error page, not an article.
MIN_HTML_WORDS = 15

# Record field names accepted for each Article field, in order of preference.
FIELD_ALIASES = {
    "title": ("title", "headline"),
    "body": ("body", "text", "content"),
    "source": ("source", "outlet", "sitename", "publisher"),
    "author": ("author", "authors", "byline"),
    "published_at": ("published_at", "date", "published", "pubdate"),
    "url": ("url", "link"),
    "category": ("category", "section"),
}


@dataclass(frozen=True)
class LoadError:
    origin: str
    reason: str

    def __str__(self) -> str:
        return f"{self.origin}: {self.reason}"


def load_paths(paths: list[Path], max_bytes: int = MAX_FILE_BYTES) -> Iterator[Article | LoadError]:
    for path in paths:
        yield from load_path(path, max_bytes)


def load_path(path: Path, max_bytes: int = MAX_FILE_BYTES) -> Iterator[Article | LoadError]:
    """Articles from a file or (recursively) a folder, with a LoadError for each input that fails."""
    path = Path(path)
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.suffix.lower() in SUFFIXES and not _hidden(p, path))
        if not files:
            yield LoadError(str(path), f"is a folder with no article files ({', '.join(sorted(SUFFIXES))})")
        for file in files:
            yield from _load_file(file, max_bytes)
        return
    yield from _load_file(path, max_bytes)


# Files in a folder that describe the folder rather than hold an article.
NOT_ARTICLES = {"readme", "license", "licence", "changelog", "attribution"}


def _hidden(file: Path, root: Path) -> bool:
    if file.stem.lower() in NOT_ARTICLES:
        return True
    return any(part.startswith(".") for part in file.relative_to(root).parts)


def _load_file(path: Path, max_bytes: int) -> Iterator[Article | LoadError]:
    origin = str(path)
    if not path.exists():
        yield LoadError(origin, "does not exist (or is a dangling link)")
        return
    if not path.is_file():
        yield LoadError(origin, "is not a regular file")
        return
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        yield LoadError(origin, f"unsupported file type {suffix or '(none)'}; use one of {', '.join(sorted(SUFFIXES))}")
        return
    try:
        size = path.stat().st_size
        if size > max_bytes:
            yield LoadError(origin, f"is {size / 1e6:.1f} MB, over the {max_bytes / 1e6:.0f} MB limit")
            return
        data = path.read_bytes()
    except OSError as exc:
        yield LoadError(origin, f"cannot be read ({exc.strerror or exc})")
        return
    text = decode(data)
    if isinstance(text, LoadError):
        yield LoadError(origin, text.reason)
        return
    if not text.strip():
        yield LoadError(origin, "is empty")
        return
    if suffix in {".json", ".jsonl"}:
        yield from parse_records(text, origin, jsonl=suffix == ".jsonl")
    elif suffix in {".html", ".htm"}:
        yield parse_html(text, origin)
    else:
        yield parse_text(text, origin)


def decode(data: bytes) -> str | LoadError:
    """UTF-8 when valid; another encoding only when it is detected reliably; binary is refused."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            return LoadError("", "has a UTF-16 byte order mark but is not valid UTF-16")
    if b"\x00" in data[:8192]:
        return LoadError("", "looks binary (NUL bytes), not text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    best = charset_normalizer.from_bytes(data).best()
    if best is None or best.chaos > 0.2:
        return LoadError("", "is not valid UTF-8 and its encoding cannot be detected reliably")
    return str(best)


def _article(fields: dict, origin: str) -> Article | LoadError:
    try:
        return Article(**fields, origin=origin)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "record"
        return LoadError(origin, f"{where}: {first['msg'].lower()}")


def record_fields(record: dict) -> dict:
    """Map a record's keys (ours, MultiHop-RAG's, common feed names) onto Article fields."""
    fields = {}
    for name, aliases in FIELD_ALIASES.items():
        for alias in aliases:
            if record.get(alias) not in (None, ""):
                fields[name] = record[alias]
                break
    return fields


def parse_records(text: str, origin: str, jsonl: bool) -> Iterator[Article | LoadError]:
    if jsonl:
        records = []
        for lineno, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                records.append((f"{origin}:{lineno}", json.loads(line)))
            except (json.JSONDecodeError, RecursionError) as exc:
                yield LoadError(f"{origin}:{lineno}", f"invalid JSON ({_json_reason(exc)})")
    else:
        try:
            data = json.loads(text)
        except (json.JSONDecodeError, RecursionError) as exc:
            yield LoadError(origin, f"invalid JSON ({_json_reason(exc)})")
            return
        items = data if isinstance(data, list) else [data]
        records = [(f"{origin}[{i}]" if isinstance(data, list) else origin, item) for i, item in enumerate(items)]
    for where, record in records:
        if not isinstance(record, dict):
            yield LoadError(where, f"an article record must be a JSON object, not {type(record).__name__}")
            continue
        yield _article(record_fields(record), where)


def _json_reason(exc: Exception) -> str:
    if isinstance(exc, RecursionError):
        return "nested too deeply"
    return f"{exc.msg} at line {exc.lineno} column {exc.colno}"


def parse_html(html: str, origin: str, url: str = "") -> Article | LoadError:
    """Main text and metadata of a web page, extracted with trafilatura."""
    import trafilatura  # imported here: a served store that reads no HTML starts 0.1 s sooner

    doc = trafilatura.bare_extraction(html, url=url or None, with_metadata=True, include_comments=False)
    if doc is not None and doc.body is not None:
        doc.text = _text_with_headings(doc.body, doc.title or "")
    if doc is None or not (doc.text or "").strip():
        return LoadError(origin, "no article text found in the HTML")
    words = len(doc.text.split())
    if words < MIN_HTML_WORDS:
        return LoadError(origin, f"has only {words} words of text, not an article (a menu, a paywall, or a page built by JavaScript?)")
    fields = {
        "title": doc.title or "",
        "body": doc.text,
        "source": doc.sitename or "",
        "author": doc.author or "",
        "published_at": doc.date or None,
        "url": doc.url or url,
        "category": ", ".join(doc.categories or []) if isinstance(doc.categories, list) else (doc.categories or ""),
    }
    if not fields["title"]:
        fields["title"] = doc.text.strip().splitlines()[0][:200]
    return _article(fields, origin)


def _text_with_headings(body, title: str) -> str:
    """trafilatura's plain text, with its headings marked as markdown ("## ...").

    index/structure.py then knows a heading for sure: an FAQ question heading ("### How much is it?")
    or a "Key points" box. trafilatura's own markdown output would also mark bold and italics in the prose.
    """
    from trafilatura.xml import xmltotxt

    for head in list(body.iter("head")):
        if title and (head.text or "").strip() == title.strip():  # the headline again: it is the title
            head.text = ""
            continue
        rend = head.get("rend") or ""
        level = int(rend[1]) if len(rend) == 2 and rend[0] == "h" and rend[1].isdigit() else 2
        head.text = f"{'#' * level} {head.text or ''}"
    return xmltotxt(body, include_formatting=False)


def parse_text(text: str, origin: str) -> Article | LoadError:
    """Plain text or Markdown, with optional YAML front matter; otherwise the first line is the title."""
    try:
        post = frontmatter.loads(text)
    except Exception as exc:  # the YAML parser raises many types for a broken header
        return LoadError(origin, f"unreadable front matter ({type(exc).__name__})")
    meta = post.metadata if isinstance(post.metadata, dict) else {}
    body = post.content.strip()
    fields = record_fields({**meta, "body": body})
    if "title" not in fields:
        first, _, rest = body.partition("\n")
        fields["title"] = first.strip().lstrip("#").strip()
        fields["body"] = rest.strip()
    if not fields.get("body"):
        return LoadError(origin, "has a title but no body text")
    return _article(fields, origin)
