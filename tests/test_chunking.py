from index.articles import Article
from index.chunking import chunk_article, sections
from tests.conftest import SEEDS
from index.loaders import load_path


def seed_article():
    return next(a for a in load_path(SEEDS / "putin_rare_earths.txt"))


def test_subheadings_become_sections():
    heads = [h for h, _ in sections(seed_article().body)]
    assert "Putin’s Stance on Rare Earth Minerals" in heads
    assert "Frequently Asked Questions" in heads


def test_chunks_fit_the_model_and_carry_a_context_header(embeddings):
    art = seed_article()
    chunks = chunk_article(art, embeddings.count_tokens, chunk_tokens=220, overlap_tokens=40)
    assert len(chunks) > 5
    for c in chunks:
        assert embeddings.count_tokens(c.indexed_text) <= 256
        assert c.header.startswith(art.title)
    faq = [c for c in chunks if c.section == "Frequently Asked Questions"]
    assert faq and "group of 17 elements" in faq[0].text
    assert faq[0].header.endswith("Frequently Asked Questions")


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
