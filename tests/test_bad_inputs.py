"""A corpus of hostile and broken inputs beside good ones: each bad one is one clear line or is
indexed correctly, every good one is indexed, nothing crashes and no article is half-written."""

import gzip
import json
import os
import subprocess
import sys

import pytest

from index.loaders import LoadError, load_path
from tests.conftest import ROOT

GOOD = {
    "good1.txt": "Harbour expands\nThe harbour authority approved a new container terminal on Monday.",
    "good2.md": "---\ntitle: Rail strike ends\nsource: Wire\n---\nTrain drivers returned to work after a deal on pay.",
    "good3.json": json.dumps({"title": "Bank holds rates", "body": "The central bank kept its key rate unchanged.", "source": "Money Daily"}),
}


def hostile_inputs(folder):
    """Files whose names say what they are; returns {name: True if it must be indexed, False if refused}."""
    expect = {}

    def put(name, data, indexed=False):
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
        expect[name] = indexed

    put("binary_renamed.txt", os.urandom(4096).replace(b"\x00", b"\x01") + b"\x00" * 16)
    put("png_renamed.md", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 64)
    put("gzip_renamed.json", gzip.compress(b'{"title": "x", "body": "y"}'))
    put("empty.txt", b"")
    put("empty.json", b"")
    put("whitespace_only.md", "   \n\n\t  \n")
    put("invalid_utf8.txt", b"Title\n" + bytes(range(0x80, 0x100)) * 40)
    put("title_only.txt", "Only a title line\n")
    put("front_matter_only.md", "---\ntitle: Nothing below\n---\n")
    put("broken_front_matter.md", "---\ntitle: [unclosed\n---\nBody text here.")
    put("huge_50mb.txt", b"a" * (50 * 1024 * 1024))
    put("nested_deep.json", "[" * 100_000 + "]" * 100_000)
    put("truncated.json", '[{"title": "A", "body": "Complete record."}, {"title": "B", "bo')
    put("wrong_types.json", json.dumps({"title": 42, "body": ["not", "text"]}))
    put("list_of_numbers.json", "[1]")
    put("null.json", "null")
    put("missing_body.json", json.dumps({"title": "No body here"}))
    put("empty_body.json", json.dumps({"title": "Empty", "body": "   "}))
    put("bad_date.json", json.dumps({"title": "Bad date", "body": "Text.", "published_at": "the day after tomorrow-ish"}))
    put("date_wrong_type.json", json.dumps({"title": "Date type", "body": "Text.", "published_at": {"y": 2024}}))
    put("jsonl_all_broken.jsonl", "{\n}{\n[[[\n")
    put("html_no_text.html", "<html><head><title>x</title></head><body><script>alert(1)</script></body></html>")
    put("html_only_nav.htm", "<html><body><nav><a href='/'>Home</a></nav></body></html>")
    put("html_binary.html", b"\x00\x01<html>" + os.urandom(512).replace(b"\x00", b"\x02"))
    put("rss_broken.xml", "<rss><channel><item><title>x</title></item>")  # not an article file type
    put("no_suffix", "Title\nBody text that would be fine in a .txt file.")
    put("control_chars.txt", "Control \x07\x08\x1b title\nBody with \x0b vertical tab and \x1b[31m escape codes survives as text.", indexed=True)
    put("very_long_line.txt", "Long line story\n" + ("word " * 20_000), indexed=True)
    put("repetition_bomb.txt", "Repetition\n" + ("spam " * 300_000))  # 1.5 M characters: over the article limit
    put("no_spaces_blob.txt", "Blob\n" + ("Q" * 100_000), indexed=True)
    put("latin1.txt", "Crème brûlée festival\nLa fête de la crème brûlée a attiré des milliers de visiteurs à Lyon, déclarent les organisateurs.".encode("cp1252"), indexed=True)
    put("utf16_bom.txt", "Title in UTF-16\nBody in UTF-16 with a byte order mark.".encode("utf-16"), indexed=True)
    put("utf16_no_bom.txt", "Title\nBody in UTF-16 without a byte order mark.".encode("utf-16-le"))
    put("sub/deeper/still/ok.txt", "Nested story\nA story deep in nested folders is found.", indexed=True)
    (folder / "dir_named.txt").mkdir()
    expect["dir_named.txt"] = False
    (folder / "dangling.txt").symlink_to(folder / "does-not-exist.txt")
    expect["dangling.txt"] = False
    return expect


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hostile")
    expect = hostile_inputs(folder)
    for name, text in GOOD.items():
        (folder / name).write_text(text)
        expect[name] = True
    return folder, expect


def test_at_least_thirty_hostile_inputs(corpus):
    _, expect = corpus
    assert sum(1 for n in expect if n not in GOOD) >= 30


def test_each_input_is_one_line_or_indexed(corpus, store):
    folder, expect = corpus
    paths = [folder / name for name in expect]
    items = []
    for path in paths:
        got = list(load_path(path))
        name = str(path.relative_to(folder))
        errors = [g for g in got if isinstance(g, LoadError)]
        articles = [g for g in got if not isinstance(g, LoadError)]
        if name == "truncated.json":
            assert len(errors) == 1  # invalid JSON as a whole: nothing half-read
        if expect[name]:
            assert articles and not errors, (name, errors)
        else:
            assert errors and not articles, (name, articles)
            assert all("\n" not in str(e) and name.split("/")[-1] in str(e) for e in errors), errors
        items += got
    report = store.add(items)
    assert len(report.added) == sum(expect.values())
    # No article is half-written: each record's chunk count is what the chunks collection holds.
    for row in store.articles():
        assert len(store.chunks.get(where={"article_id": row["id"]})["ids"]) == row["chunks"]


def test_cli_survives_the_whole_folder(corpus, tmp_path):
    folder, expect = corpus
    result = subprocess.run(
        [sys.executable, "-m", "chatbot", "--store", str(tmp_path / "s"), "index", "add", str(folder), str(folder / "dangling.txt")],
        cwd=ROOT, capture_output=True, text=True, timeout=900,
    )
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert f"{sum(expect.values())} added" in result.stdout
    assert all(line.startswith(("error: ", "indexing")) or not line.strip() for line in result.stderr.splitlines()), result.stderr
