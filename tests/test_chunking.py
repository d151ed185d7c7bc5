from index.articles import Article
from index.chunking import chunk_article, sections
from tests.conftest import SEEDS
from index.loaders import load_path


def seed_article():
    return next(a for a in load_path(SEEDS / "putin_rare_earths.txt"))


def test_subheadings_become_sections():
    heads = [h for h, _ in sections(seed_article().body)]
    assert "Putin’s Stance on Rare Earth Minerals" in heads
    assert "Frequently Asked Questions" not in heads  # its pairs are FAQ chunks, not a prose section


def test_chunks_fit_the_model_and_carry_a_context_header(embeddings):
    art = seed_article()
    chunks = chunk_article(art, embeddings.count_tokens, chunk_tokens=220, overlap_tokens=40)
    assert len(chunks) > 5
    for c in chunks:
        assert embeddings.count_tokens(c.indexed_text) <= 220
        assert c.header.startswith(art.title)
    faq = [c for c in chunks if c.metadata.get("faq_question")]
    assert faq and faq[0].text.startswith("Rare earth minerals are a group of 17 elements")
    assert faq[0].header.endswith("What are rare earth minerals?")


def test_sentences_are_never_cut_and_neighbours_overlap(embeddings):
    sentences = [f"Sentence number {i} talks about the harbour project and its budget of {i} million dollars." for i in range(60)]
    art = Article(title="Harbour", body=" ".join(sentences), source="Port News", published_at="2024-01-02")
    chunks = chunk_article(art, embeddings.count_tokens, chunk_tokens=120, overlap_tokens=30)
    assert len(chunks) > 3
    for c in chunks:
        assert c.text.startswith("Sentence number") and c.text.endswith("dollars.")
        assert embeddings.count_tokens(c.indexed_text) <= 120
    assert any(chunks[i].text.split(". ")[-1] in chunks[i + 1].text for i in range(len(chunks) - 1))
    assert chunks[0].header == "Harbour | Port News, 2024-01-02"


def test_oversized_token_dense_text_is_split_by_word_pieces(embeddings):
    art = Article(title="Numbers", body=" ".join(f"{i}.{i*7}%" for i in range(800)))
    chunks = chunk_article(art, embeddings.count_tokens, chunk_tokens=200, overlap_tokens=20)
    assert all(embeddings.count_tokens(c.indexed_text) <= 200 for c in chunks)


# A body with no furniture, tables or FAQ: these are the chunks the chunker made before article
# structure was read (checked against that code), so structure-free articles index exactly as before.
PLAIN_BODY = (
    "The town council approved a new budget on Monday after three hours of debate. "
    "Spending on roads rises by four percent, while the library budget stays flat.\n"
    "Councillor Ruth Mbeki said the plan balanced repairs against the cost of living. "
    "Two members voted against it, citing the rising cost of borrowing.\n"
    "Road repairs\n"
    "Most of the extra money goes to resurfacing the ring road, which was last repaired in 2009. "
    "Work is expected to begin in April and to last about eight months, with night closures on weekdays. "
    "Engineers say the surface has worn faster than planned because of heavier lorries.\n"
    "The council will also repaint pedestrian crossings near the three primary schools in the north of the town.\n"
    "Libraries\n"
    "Opening hours at the central library stay the same, but the mobile library will visit two more villages each week. "
    "Volunteers will run a new homework club on Tuesday and Thursday evenings from September.\n"
)
PLAIN_CHUNKS = [
    ("", "The town council approved a new budget on Monday after three hours of debate. Spending on roads rises by four percent, while the library budget stays flat.\n\nCouncillor Ruth Mbeki said the plan balanced repairs against the cost of living. Two members voted against it, citing the rising cost of borrowing."),
    ("Road repairs", "Most of the extra money goes to resurfacing the ring road, which was last repaired in 2009. Work is expected to begin in April and to last about eight months, with night closures on weekdays. Engineers say the surface has worn faster than planned because of heavier lorries."),
    ("Road repairs", "The council will also repaint pedestrian crossings near the three primary schools in the north of the town."),
    ("Libraries", "Opening hours at the central library stay the same, but the mobile library will visit two more villages each week. Volunteers will run a new homework club on Tuesday and Thursday evenings from September."),
]


def test_a_body_without_structure_chunks_as_before(embeddings):
    art = Article(title="Council passes budget", body=PLAIN_BODY, source="Town Crier", published_at="2024-03-01")
    chunks = chunk_article(art, embeddings.count_tokens, chunk_tokens=120, overlap_tokens=30)
    assert [(c.section, c.text) for c in chunks] == PLAIN_CHUNKS
    assert chunks[1].header == "Council passes budget | Town Crier, 2024-03-01 | Road repairs"
    assert not art.key_points and not art.faq and not art.structure.dropped
