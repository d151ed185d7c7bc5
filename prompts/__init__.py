"""Prompt templates, one file per task, loaded as package data and rendered strictly.

A template is plain text with `{name}` variables (literal braces doubled) split into chat messages by
header lines `=== system ===` and `=== user ===`. Rendering fails on a missing or an unexpected
variable, so a template and the code that fills it cannot drift apart silently.
"""

from __future__ import annotations

import importlib.resources
import re
import string
from functools import lru_cache

_HEADER = re.compile(r"^=== (system|user) ===\s*$", re.MULTILINE)


class PromptError(ValueError):
    """A template was rendered with missing or unexpected variables."""


@lru_cache(maxsize=None)
def load(name: str) -> str:
    """The raw text of prompts/<name>.txt."""
    return (importlib.resources.files(__package__) / f"{name}.txt").read_text(encoding="utf-8")


def variables(name: str) -> set[str]:
    """The variable names a template uses."""
    return {field for _, field, _, _ in string.Formatter().parse(load(name)) if field is not None}


def render(name: str, **values: str) -> list[tuple[str, str]]:
    """The template's messages as (role, text) pairs, its variables filled from `values`."""
    expected = variables(name)
    missing, unexpected = expected - values.keys(), values.keys() - expected
    if missing or unexpected:
        raise PromptError(f"prompt {name!r}: missing variables {sorted(missing)}, unexpected {sorted(unexpected)}")
    parts = _HEADER.split(load(name))
    if parts[0].strip() or len(parts) < 3:
        raise PromptError(f"prompt {name!r} must start with a '=== system ===' or '=== user ===' line")
    return [(role, body.strip().format(**values)) for role, body in zip(parts[1::2], parts[2::2])]
