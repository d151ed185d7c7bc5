import json
from datetime import timezone

import pytest

from index.articles import Article
from index.loaders import LoadError, load_path
from tests.conftest import MULTIHOP, SEEDS


def loaded(path):
    items = list(load_path(path))
    return [i for i in items if isinstance(i, Article)], [i for i in items if isinstance(i, LoadError)]


def test_text_with_front_matter(tmp_path):
    f = tmp_path / "a.md"
    f.write_text("---\ntitle: Rates rise\nsource: Wire\npublished_at: 2024-03-01T10:00:00+02:00\nurl: https://x.test/a\n---\nBody line one.\n\nBody two.\n")
    (art,), errors = loaded(f)
    assert not errors
    assert (art.title, art.source, art.url) == ("Rates rise", "Wire", "https://x.test/a")
    assert art.published_at.utcoffset().total_seconds() == 7200
    assert art.body.startswith("Body line one.")


def test_text_without_front_matter_takes_title_from_first_line(tmp_path):
    f = tmp_path / "b.txt"
    f.write_text("# Storm hits coast\nThe storm made landfall on Tuesday.\n")
    (art,), _ = loaded(f)
    assert art.title == "Storm hits coast"
    assert art.body == "The storm made landfall on Tuesday."


@pytest.mark.parametrize("written, expected", [
    ("2024-03-14", "2024-03-14T00:00:00+00:00"),  # unquoted: YAML gives a date
    ("'2024-03-14'", "2024-03-14T00:00:00+00:00"),
    ("2024-03-14 09:30:00", "2024-03-14T09:30:00+00:00"),  # unquoted with a time: a naive datetime
    ("2024-03-14T09:30:00Z", "2024-03-14T09:30:00+00:00"),
    ("2024-03-14 09:30:00+01:00", "2024-03-14T09:30:00+01:00"),  # with a zone
    ("March 14, 2024", "2024-03-14T00:00:00+00:00"),
])
def test_front_matter_dates_of_every_usual_form(tmp_path, written, expected):
    f = tmp_path / "a.md"
    f.write_text(f"---\ntitle: Tram line\npublished_at: {written}\n---\nThe council approved the tram line.\n")
    [art] = load_path(f)
    assert art.published_at.isoformat() == expected


def test_naive_date_becomes_utc(tmp_path):
    f = tmp_path / "c.json"
    f.write_text(json.dumps({"title": "T", "body": "B text.", "published_at": "2023-10-05 08:00"}))
    (art,), _ = loaded(f)
    assert art.published_at.tzinfo == timezone.utc


def test_multihop_corpus_loads_as_is():
    arts, errors = loaded(MULTIHOP / "corpus.json")
    assert len(arts) == 609 and not errors
    first = arts[0]
    assert first.source == "Mashable" and first.published_at.year == 2023 and first.url.startswith("https://")


def test_jsonl_bad_line_does_not_stop_good_ones(tmp_path):
    f = tmp_path / "d.jsonl"
    f.write_text('{"title": "One", "body": "First body."}\n{broken\n{"title": "Two", "body": "Second body."}\n')
    arts, errors = loaded(f)
    assert [a.title for a in arts] == ["One", "Two"]
    assert len(errors) == 1 and "d.jsonl:2" in str(errors[0]) and "invalid JSON" in str(errors[0])


def test_html_extracts_text_and_metadata(tmp_path):
    f = tmp_path / "e.html"
    para = "The city council approved the new transit budget on Monday after a long debate. " * 4
    f.write_text(
        f"""<html><head><title>Council backs transit plan</title>
        <meta property="og:site_name" content="Metro Daily">
        <meta name="author" content="Jo Reporter">
        <meta property="article:published_time" content="2024-05-02T09:00:00Z">
        <link rel="canonical" href="https://metro.test/transit"></head>
        <body><nav>Home | Sports</nav><article><h1>Council backs transit plan</h1><p>{para}</p><p>{para}</p></article></body></html>"""
    )
    (art,), errors = loaded(f)
    assert not errors
    assert art.title == "Council backs transit plan"
    assert art.source == "Metro Daily"
    assert art.published_at.date().isoformat() == "2024-05-02"
    assert "transit budget" in art.body and "Home | Sports" not in art.body


def test_latin1_text_is_decoded(tmp_path):
    f = tmp_path / "f.txt"
    f.write_bytes("Café owners protest\nLes propriétaires de cafés manifestent contre la hausse des loyers à Montréal, déclarant que la situation est intenable.".encode("latin-1"))
    (art,), errors = loaded(f)
    assert not errors and art.title == "Café owners protest"


@pytest.mark.parametrize(
    "name, content, reason",
    [
        ("empty.txt", b"", "is empty"),
        ("bin.txt", b"\x00\x01\x02binary\x00", "binary"),
        ("broken.json", b'{"title": "x", "body": ', "invalid JSON"),
        ("nobody.json", b'{"title": "x"}', "body"),
        ("wrongtype.json", b'"just a string"', "must be a JSON object"),
        ("nothing.html", b"<html><body><script>var a=1;</script></body></html>", "no article text"),
        ("title_only.txt", b"Just a title\n", "no body"),
        ("bad.xyz", b"hello", "unsupported file type"),
    ],
)
def test_bad_inputs_give_one_clear_line(tmp_path, name, content, reason):
    f = tmp_path / name
    f.write_bytes(content)
    arts, errors = loaded(f)
    assert not arts
    assert len(errors) == 1 and reason in str(errors[0]) and name in str(errors[0])
    assert "\n" not in str(errors[0])


def test_folder_is_recursive_and_dangling_link_is_an_error(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.txt").write_text("Title A\nBody A.")
    (tmp_path / "README.md").write_text("# About this folder\nNot an article.")
    (tmp_path / "gone.txt").symlink_to(tmp_path / "missing.txt")
    arts, _ = loaded(tmp_path)
    assert [a.title for a in arts] == ["Title A"]
    _, errors = loaded(tmp_path / "gone.txt")
    assert "does not exist" in str(errors[0])


def test_seeds_load():
    arts, errors = loaded(SEEDS)
    assert not errors and len(arts) == 21
    assert any("Rare Earth" in a.title for a in arts)


def test_ids_are_stable_and_content_hash_tracks_changes():
    a = Article(title="T", body="B", url="https://x.test/1")
    b = Article(title="T changed", body="B2", url="https://x.test/1")
    assert a.id == b.id and a.content_hash != b.content_hash
    assert Article(title="T", body="B", source="S").id != Article(title="T", body="B", source="S2").id
