"""Article structure read at ingest: prose under subheadings, key points, FAQ pairs, and the furniture left out."""

from pathlib import Path

import pytest

from index.chunking import chunk_article
from index.loaders import load_path
from index.structure import FAQPair, dropped_kind, read_structure, stored_faq, stored_key_points
from tests.conftest import SEEDS

DATA = Path(__file__).parent / "data"

SEED_HEADINGS = [
    "",  # the lead paragraph
    "Putin’s Stance on Rare Earth Minerals",
    "Historical Context and Economic Implications",
    "U.S.-Russia Diplomatic Relations",
    "Potential Agreements on Energy Resources",
    "Future Implications for Ukraine",
    "Summary",
]
SEED_KEY_POINTS = [
    "Vladimir Putin indicates willingness to cooperate with the U.S. on mining rare earth minerals.",
    "Rare earth minerals are vital for technology, defense, and renewable energy sectors.",
    "Potential agreements may improve U.S.-Russia diplomatic relations amid ongoing tensions.",
    "Energy negotiations could significantly impact energy security and market stability for both nations.",
    "Ukraine’s sovereignty and future political landscape may be influenced by these potential agreements.",
]
SEED_QUESTIONS = [
    "What are rare earth minerals?",
    "How important are rare earth minerals to Russia’s economy?",
    "What might a U.S.-Russia agreement entail regarding Ukrainian resources?",
]
# What a reader skips on the test pages (tests/data/*.html), by the words that would show it.
FURNITURE_WORDS = ["Getty", "pic.twitter", "(@", "Most read", "Sign up", "sign up", "Advertisement", "Read more", "Related:", "Image:", "| Shots"]


def load(path: Path):
    return next(load_path(path))


@pytest.fixture(scope="module")
def seed():
    return load(SEEDS / "putin_rare_earths.txt")


def test_seed_loads_as_sections_key_points_and_faq_pairs(seed):
    structure = seed.structure
    assert [s.heading for s in structure.sections] == SEED_HEADINGS
    assert seed.key_points == SEED_KEY_POINTS
    assert [pair.question for pair in seed.faq] == SEED_QUESTIONS
    assert seed.faq[0].answer.startswith("Rare earth minerals are a group of 17 elements")
    assert seed.faq[2].answer.endswith("Ukraine’s sovereignty and economic future.")
    # The table of contents is dropped as such, not read as prose or as headings.
    assert [kind for kind, _ in structure.dropped] == ["subheading list"] * 7


def test_a_quote_cut_at_its_comma_is_mended_into_one_paragraph(seed):
    energy = next(s.text for s in seed.structure.sections if s.heading == "Potential Agreements on Energy Resources")
    assert "we are ready to attract foreign partners,” Putin stated, referring to the regions" in energy


def test_seed_chunks_hold_prose_and_one_chunk_per_faq_pair(seed, embeddings):
    chunks = chunk_article(seed, embeddings.count_tokens, chunk_tokens=220, overlap_tokens=40)
    texts = "\n".join(c.text for c in chunks)
    assert "|" not in texts and "---" not in texts
    assert "Article Subheadings" not in texts and "1) Putin" not in texts
    assert "Question:" not in texts and "Frequently Asked Questions" not in texts
    # Key points repeat the prose: they are kept in the record, not chunked.
    assert not any(point in texts for point in SEED_KEY_POINTS)
    faq = [c for c in chunks if "faq_question" in c.metadata]
    assert [c.metadata["faq_question"] for c in faq] == SEED_QUESTIONS
    assert [c.section for c in faq] == SEED_QUESTIONS
    assert [c.text for c in faq] == [pair.answer for pair in seed.faq]
    assert faq[0].header.endswith("| What are rare earth minerals?")
    prose = [c for c in chunks if "faq_question" not in c.metadata]
    assert {c.section for c in prose} <= set(SEED_HEADINGS)
    assert "These are quite capital-intensive investments" in texts


def test_news_page_loses_its_furniture_and_keeps_prose_and_key_points(embeddings):
    article = load(DATA / "harbour_deal.html")
    assert article.title == "City signs harbour deal worth 40 million dollars" and article.source == "Port News"
    assert article.key_points == [
        "The city signed a harbour deal worth 40 million dollars on Tuesday.",
        "Work on the new quay starts in March next year.",
        "The mayor expects 300 new jobs over five years.",
    ]
    texts = "\n".join(c.text for c in chunk_article(article, embeddings.count_tokens))
    for words in FURNITURE_WORDS:
        assert words not in texts
    for sentence in (
        "The city council signed the harbour deal on Tuesday evening",
        "Mayor Ann Lee said the agreement would create 300 jobs",
        "the motion was defeated by nine votes to six.",
        "bid for the dredging contract from June",
    ):
        assert sentence in texts
    kinds = {kind for kind, _ in article.structure.dropped}
    assert kinds == {"caption", "tweet", "furniture"}


def test_a_tweet_that_says_something_is_quoted_by_its_author_and_a_table_is_dropped(embeddings):
    article = load(DATA / "cup_final.html")
    texts = "\n".join(c.text for c in chunk_article(article, embeddings.count_tokens))
    for words in FURNITURE_WORDS:
        assert words not in texts
    assert "Tom Reid posted: What a night for this club." in texts
    assert "Match stats" not in texts  # the table's heading went with the table
    assert "Goalkeeper Lena Park saved two penalties" in texts and "parade the trophy" in texts


def test_faq_section_and_question_headings_on_a_page_become_faq_pairs(embeddings):
    article = load(DATA / "heat_pump_faq.html")
    assert article.faq == [
        FAQPair(question="Who can apply for the grant?", answer="Any homeowner in England or Wales whose property has a valid energy performance certificate can apply, as long as the installer is certified."),
        FAQPair(question="How much is the heat pump grant?", answer="The grant is now 7,500 pounds for an air source or ground source heat pump."),
        FAQPair(question="When does the higher grant start?", answer="The higher grant applies to applications made from 1 April, the energy department said."),
    ]
    chunks = chunk_article(article, embeddings.count_tokens)
    assert [c.metadata.get("faq_question") for c in chunks if c.metadata] == [p.question for p in article.faq]
    assert "Image:" not in "\n".join(c.text for c in chunks)


@pytest.mark.parametrize(
    "line, kind",
    [
        ("4 Onana had another disappointing performance in goal for United Credit: Getty", "caption"),
        ("Britney Spears and Justin Timberlake in 2002. Photograph: Tom Mihalek/AFP/Getty Images", "caption"),
        ("Charley Gallay via Getty Images", "caption"),
        ("Joelinton thumped home Newcastle’s goal (Reuters)", "caption"),
        ("Image: Netflix", "caption"),
        ("Photo: AP", "caption"),
        ("Advertisement", "furniture"),
        ("ADVERTISEMENT Article continues below this ad", "furniture"),
        ("Most read", "furniture"),
        ("READ MORE: Referee ripped after Junior Paulo's dominant KO", "furniture"),
        ("Related: New drugs could stymie superbugs by freezing evolution", "furniture"),
        ("Share this article", "furniture"),
        ("CLICK HERE TO GET THE FOX NEWS APP", "furniture"),
        ("Want more deals in your inbox? Sign up for our daily Deals newsletter.", "furniture"),
        # Prose that only mentions the same words stays.
        ("LONDON (Reuters) - The Bank of England held interest rates at 5.25% on Thursday.", None),
        ("Getty Images sued Stability AI in London, claiming it copied millions of photos.", None),
        ("The newsletter, which launched in 2019, now has 40,000 readers.", None),
        ("Subscribers to ChatGPT Plus can now browse the web.", None),
        ("Fans were asked to share their photos of the parade.", None),
    ],
)
def test_line_rules(line, kind):
    assert dropped_kind(line) == kind


def test_tweets_are_dropped_unless_they_say_something():
    body = (
        "The match ended late on Sunday night after a long delay for rain in the second half.\n"
        "#cf97 #vamosfire pic.twitter.com/AbCdEf123 — Chicago Fire FC (@ChicagoFire) October 4, 2023\n"
        "Raiders’ kicker Daniel Carlson, listed as questionable for tonight due to a groin injury, will kick tonight. "
        "— Adam Schefter (@AdamSchefter) October 30, 2023\n"
    )
    structure = read_structure(body)
    assert [kind for kind, _ in structure.dropped] == ["tweet"]
    text = structure.sections[0].text
    assert "Adam Schefter posted: Raiders’ kicker Daniel Carlson" in text
    assert "@" not in text and "October 30, 2023" not in text


def test_question_and_answer_forms():
    body = (
        "The club met its fans on Monday evening to talk about the new stadium plans.\n"
        "Q: Messi or Ronaldo?\n"  # a live-blog aside: a Q without its A is prose
        "Q: Where will the stadium be built?\n"
        "A: On the old rail yard north of the river.\n"
        "## Why now?\n"
        "The lease on the current ground ends in 2027.\n"
        "Frequently asked questions\n"
        "Will ticket prices rise?\n"
        "The club said season tickets would be frozen for two years.\n"
        "Question: When does building start?\n"
        "Work is planned to start next spring.\n"
    )
    structure = read_structure(body)
    assert [(p.question, p.answer) for p in structure.faq] == [
        ("Where will the stadium be built?", "On the old rail yard north of the river."),
        ("Why now?", "The lease on the current ground ends in 2027."),
        ("Will ticket prices rise?", "The club said season tickets would be frozen for two years."),
        ("When does building start?", "Work is planned to start next spring."),
    ]
    assert "Q: Messi or Ronaldo?" in structure.sections[0].text


def test_key_points_list_and_subheading_list_without_pipes():
    body = (
        "Key takeaways:\n"
        "- Rents rose 6% in a year.\n"
        "- Wages rose 4%.\n"
        "Rents in the city rose by six percent over the year, faster than wages, a housing survey found on Tuesday.\n"
        "1. Rents\n"
        "2. Wages\n"
        "Rents\n"
        "The average monthly rent reached 1,450 dollars, up from 1,370 dollars a year earlier.\n"
        "Wages\n"
        "Median wages grew by four percent, the statistics office said in its quarterly report.\n"
    )
    structure = read_structure(body)
    assert structure.key_points == ["Rents rose 6% in a year.", "Wages rose 4%."]
    assert [s.heading for s in structure.sections] == ["", "Rents", "Wages"]
    assert [kind for kind, _ in structure.dropped] == ["subheading list", "subheading list"]


def test_record_fields_read_back(store):
    seed = load(SEEDS / "putin_rare_earths.txt")
    store.add([seed])
    record = store.article(seed.id)
    assert stored_key_points(record) == SEED_KEY_POINTS
    assert stored_faq(record) == seed.faq
    metas = store.chunks.get(where={"article_id": seed.id}, include=["metadatas"])["metadatas"]
    assert sorted(m["faq_question"] for m in metas if "faq_question" in m) == sorted(SEED_QUESTIONS)
    # Records indexed before these fields existed read as empty.
    assert stored_faq({}) == [] and stored_key_points({"key_points": "not json"}) == []


def test_a_highlights_heading_over_prose_is_an_ordinary_subheading():
    body = (
        "The final was played in front of a record crowd of 52,000 on Saturday afternoon.\n"
        "Highlights\n"
        "The best moment came in the 80th minute, when the substitute scored from forty metres.\n"
    )
    structure = read_structure(body)
    assert structure.key_points == []
    assert [s.heading for s in structure.sections] == ["", "Highlights"]


def test_a_body_of_furniture_only_is_refused_in_one_line_and_good_files_still_load(tmp_path):
    from index.loaders import LoadError, load_paths

    (tmp_path / "junk.md").write_text("---\ntitle: Junk\n---\nAdvertisement\nMost read\n| Shots | 14 | 9 |\n", "utf-8")
    (tmp_path / "good.md").write_text("Budget agreed\nThe council agreed the budget on Monday after a long debate.\n", "utf-8")
    junk, good = load_paths([tmp_path / "junk.md", tmp_path / "good.md"])
    assert isinstance(junk, LoadError) and "only tables, captions, tweets or page furniture" in junk.reason
    assert good.title == "Budget agreed"


def test_an_embed_placeholder_run_into_the_prose_is_dropped():
    body = "Crude fell on Monday. Loading The S&P 500 climbed 0.8 per cent to close at a record. Loading... “We expected it,” she said."
    text = " ".join(s.text for s in read_structure(body).sections)
    assert "Loading" not in text and "The S&P 500 climbed 0.8 per cent" in text and "“We expected it,” she said." in text


def test_page_widgets_run_into_the_first_line_are_dropped():
    body = (
        "Save Log in , register or subscribe to save articles for later. Save articles for later Add articles to your saved list "
        "and come back to them any time. Got it Normal text size Larger text size Very large text size Tyler Mitchell was just 23 "
        "when he shot the cover of American Vogue.\nHe said he had got it right the first time."
    )
    text = " ".join(s.text for s in read_structure(body).sections)
    assert text.startswith("Tyler Mitchell was just 23") and "text size" not in text and "Log in" not in text
    assert "He said he had got it right the first time." in text
