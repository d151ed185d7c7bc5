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
    """Files whose names say what they are; returns {name: (True, its title) if it must be indexed,
    (False, words its one-line error must hold) if it must be refused}. With no folder, writes nothing."""
    expect = {}

    def put(name, data, refused="", title=""):
        expect[name] = (True, title) if title else (False, refused)
        if folder is None:
            return
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))

    put("binary_renamed.txt", os.urandom(4096).replace(b"\x00", b"\x01") + b"\x00" * 16, "looks binary")
    put("png_renamed.md", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 64, "looks binary")
    put("gzip_renamed.json", gzip.compress(b'{"title": "x", "body": "y"}'), "looks binary")
    put("empty.txt", b"", "is empty")
    put("empty.json", b"", "is empty")
    put("whitespace_only.md", "   \n\n\t  \n", "is empty")
    put("invalid_utf8.txt", b"Title\n" + bytes(range(0x80, 0x100)) * 40, "not valid UTF-8")
    put("title_only.txt", "Only a title line\n", "no body text")
    put("front_matter_only.md", "---\ntitle: Nothing below\n---\n", "no body text")
    put("broken_front_matter.md", "---\ntitle: [unclosed\n---\nBody text here.", "unreadable front matter")
    put("huge_50mb.txt", b"a" * (50 * 1024 * 1024), "over the 21 MB limit")
    put("nested_deep.json", "[" * 100_000 + "]" * 100_000, "nested too deeply")
    put("truncated.json", '[{"title": "A", "body": "Complete record."}, {"title": "B", "bo', "invalid JSON")
    put("wrong_types.json", json.dumps({"title": 42, "body": ["not", "text"]}), "title: input should be a valid string")
    put("list_of_numbers.json", "[1]", "must be a JSON object, not int")
    put("null.json", "null", "must be a JSON object")
    put("missing_body.json", json.dumps({"title": "No body here"}), "body: field required")
    put("empty_body.json", json.dumps({"title": "Empty", "body": "   "}), "body: string should have at least 1 character")
    put("bad_date.json", json.dumps({"title": "Bad date", "body": "Text.", "published_at": "the day after tomorrow-ish"}),
        "unreadable date 'the day after tomorrow-ish'")
    put("date_wrong_type.json", json.dumps({"title": "Date type", "body": "Text.", "published_at": {"y": 2024}}),
        "a date must be a string")
    put("jsonl_all_broken.jsonl", "{\n}{\n[[[\n", "invalid JSON")
    put("html_no_text.html", "<html><head><title>x</title></head><body><script>alert(1)</script></body></html>", "no article text")
    put("html_only_nav.htm", "<html><body><nav><a href='/'>Home</a></nav></body></html>", "not an article")
    put("html_binary.html", b"\x00\x01<html>" + os.urandom(512).replace(b"\x00", b"\x02"), "looks binary")
    # not an article file type
    put("rss_broken.xml", "<rss><channel><item><title>x</title></item>", "unsupported file type .xml")
    put("no_suffix", "Title\nBody text that would be fine in a .txt file.", "unsupported file type (none)")
    put("control_chars.txt", "Control \x07\x08\x1b title\nBody with \x0b vertical tab and \x1b[31m escape codes survives as text.",
        title="Control \x07\x08\x1b title")
    put("very_long_line.txt", "Long line story\n" + ("word " * 20_000), title="Long line story")
    # 1.5 M characters: over the article limit
    put("repetition_bomb.txt", "Repetition\n" + ("spam " * 300_000), "at most 1000000 characters")
    put("no_spaces_blob.txt", "Blob\n" + ("Q" * 100_000), title="Blob")
    put("latin1.txt", LATIN1.encode("cp1252"), title=LATIN1.splitlines()[0])
    put("utf16_bom.txt", "Title in UTF-16\nBody in UTF-16 with a byte order mark.".encode("utf-16"), title="Title in UTF-16")
    put("utf16_no_bom.txt", "Title\nBody in UTF-16 without a byte order mark.".encode("utf-16-le"), "looks binary")
    put("sub/deeper/still/ok.txt", "Nested story\nA story deep in nested folders is found.", title="Nested story")
    expect["dir_named.txt"] = (False, "is a folder with no article files")
    expect["dangling.txt"] = (False, "does not exist")
    if folder is not None:
        (folder / "dir_named.txt").mkdir()
        (folder / "dangling.txt").symlink_to(folder / "does-not-exist.txt")
    return expect


LATIN1 = "Crème brûlée festival\nLa fête de la crème brûlée a attiré des milliers de visiteurs à Lyon, déclarent les organisateurs."
# Names whose outcome is known to be wrong today, with the reason (the test asserts the right outcome).
KNOWN_WRONG = {
    "latin1.txt": "a short cp1252 text is detected as another single-byte code page: 'Crème' is read as 'Crčme'",
}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hostile")
    expect = hostile_inputs(folder)
    for name, text in GOOD.items():
        (folder / name).write_text(text)
        expect[name] = (True, "")
    return folder, expect


@pytest.mark.parametrize(
    "name",
    [pytest.param(n, marks=pytest.mark.xfail(strict=True, reason=KNOWN_WRONG[n])) if n in KNOWN_WRONG else n
     for n in hostile_inputs(None)],
)
def test_each_hostile_input_is_refused_in_one_line_or_read_right(corpus, name):
    folder, expect = corpus
    indexed, detail = expect[name]
    got = list(load_path(folder / name))
    errors = [str(g) for g in got if isinstance(g, LoadError)]
    articles = [g for g in got if not isinstance(g, LoadError)]
    if indexed:
        assert not errors and [a.title for a in articles] == [detail], (errors, [a.title for a in articles])
    else:
        assert errors and not articles, articles
        for error in errors:  # one line that names the file and says what is wrong
            assert "\n" not in error and name.split("/")[-1] in error and detail in error, error


def test_good_inputs_beside_them_are_indexed_and_nothing_is_half_written(corpus, store):
    folder, expect = corpus
    items = [item for name in expect for item in load_path(folder / name)]
    report = store.add(items)
    assert len(report.added) == sum(indexed for indexed, _ in expect.values())
    titles = {row["title"] for row in store.articles()}
    assert {"Harbour expands", "Rail strike ends", "Bank holds rates"} <= titles
    assert len([i for i in items if isinstance(i, LoadError) and "truncated.json" in str(i)]) == 1  # nothing half-read
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
    assert f"{sum(indexed for indexed, _ in expect.values())} added" in result.stdout
    assert all(line.startswith(("error: ", "indexing")) or not line.strip() for line in result.stderr.splitlines()), result.stderr
