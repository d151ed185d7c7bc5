"""The article model: one news article with its metadata."""

from __future__ import annotations

import hashlib
from datetime import date, datetime, time, timezone

from dateutil import parser as dateparser
from pydantic import BaseModel, Field, computed_field, field_validator

from index.structure import ArticleStructure, FAQPair, structure_of

from index.errors import UserError

MAX_BODY_CHARS = 1_000_000


def parse_date(value: object) -> datetime | None:
    """A timezone-aware datetime from a date string, date or datetime; naive values are taken as UTC.

    YAML front matter gives a date (`published_at: 2024-03-14`) or a datetime (with a time) for an
    unquoted value, and a string for a quoted one: all three are read."""
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, date):
        parsed = datetime.combine(value, time())
    elif isinstance(value, str):
        try:
            parsed = dateparser.parse(value)
        except (ValueError, OverflowError) as exc:
            raise ValueError(f"unreadable date {value!r}") from exc
    else:
        raise ValueError(f"a date must be a string, not {type(value).__name__}")
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def parse_day(value: str | None, name: str) -> date | None:
    """The day a person typed as a date filter (YYYY-MM-DD, a time after it ignored); None when blank.

    `name` is how the person knows the field (`--since`, 'from' date) and goes into the error."""
    value = (value or "").strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        raise UserError(f"{name} {value!r} is not a date; use YYYY-MM-DD") from None


class Article(BaseModel):
    """A news article. `body` is plain text; paragraphs are separated by blank lines or newlines."""

    title: str = Field(min_length=1)
    # The longest real news articles run to ~100k characters; a bigger body is a mistake or an attack.
    body: str = Field(min_length=1, max_length=MAX_BODY_CHARS)
    source: str = Field("", description="The outlet that published it.")
    author: str = ""
    published_at: datetime | None = None
    url: str = ""
    category: str = ""
    origin: str = Field("", description="Where it was loaded from (file path or URL), for messages.")

    @field_validator("title", "body", mode="before")
    @classmethod
    def _strip_required(cls, value: object) -> object:
        return value.strip() if isinstance(value, str) else value

    @field_validator("body")
    @classmethod
    def _has_prose(cls, value: str) -> str:
        structure = structure_of(value)
        if not structure.sections and not structure.faq:
            raise ValueError("has no article text, only tables, captions, tweets or page furniture")
        return value

    @field_validator("source", "author", "url", "category", mode="before")
    @classmethod
    def _optional_text(cls, value: object) -> object:
        if value is None:
            return ""
        if isinstance(value, list):  # some feeds give several authors
            return ", ".join(str(v) for v in value)
        return value.strip() if isinstance(value, str) else value

    @field_validator("published_at", mode="before")
    @classmethod
    def _aware_date(cls, value: object) -> datetime | None:
        return parse_date(value)

    @property
    def id(self) -> str:
        """Stable across re-indexing: from the URL when there is one, else from title and outlet."""
        key = self.url.strip().lower() if self.url else f"{self.title.strip().lower()}\x1f{self.source.strip().lower()}"
        return hashlib.sha1(key.encode("utf-8")).hexdigest()[:16]

    # Key points and FAQ pairs are read from the body, not stored beside it: they can never disagree with
    # the text that is chunked, and `content_hash` (on the body) already changes whenever they do.
    @property
    def structure(self) -> ArticleStructure:
        """The body read as prose sections, key points, FAQ pairs and dropped furniture (index/structure.py)."""
        return structure_of(self.body)

    @computed_field
    @property
    def key_points(self) -> list[str]:
        return self.structure.key_points

    @computed_field
    @property
    def faq(self) -> list[FAQPair]:
        return self.structure.faq

    @property
    def content_hash(self) -> str:
        """Changes whenever anything indexed about the article changes."""
        parts = [self.title, self.body, self.source, self.author, self.url, self.category, self.date_iso]
        return hashlib.sha1("\x1f".join(parts).encode("utf-8")).hexdigest()

    @property
    def date_iso(self) -> str:
        return self.published_at.isoformat() if self.published_at else ""
