from datetime import date

import pytest
from langchain_tests.integration_tests import RetrieversIntegrationTests

from chatbot.chain import build_retriever
from chatbot.query import find_dates, find_outlets
from chatbot.retrieval import HybridRetriever, interleave, rrf
from chatbot.settings import Settings
from index.text import split_sentences
from index.lexical import LexicalIndex


class PlainRows:
    """Chunks given as plain rows, one article each, in the shape `LexicalIndex.sync` reads from a store."""

    def __init__(self, ids: list[str], passages: list[str], metadatas: list[dict]):
        self.rows = {i: (p, {**m, "article_id": i}) for i, p, m in zip(ids, passages, metadatas)}

    def version(self) -> str:
        return "1:0"

    def record_ids(self) -> set[str]:
        return set(self.rows)

    def record_fingerprints(self, ids=None, since=None) -> dict[str, str]:
        return {i: "h" for i in (self.rows if ids is None else ids)}

    def chunks_of(self, article_ids: list[str]) -> dict:
        return {"ids": list(article_ids), "documents": [self.rows[i][0] for i in article_ids], "metadatas": [self.rows[i][1] for i in article_ids]}


def lexical_of(folder, ids: list[str], passages: list[str], metadatas: list[dict]) -> LexicalIndex:
    lexical = LexicalIndex(folder)
    lexical.sync(PlainRows(ids, passages, metadatas))
    return lexical


def test_rrf_and_interleave_are_plain_functions():
    fused = rrf([(["a", "b", "c"], 1.0), (["c", "a"], 1.0)], rrf_k=60)
    assert [i for i, _ in fused][:2] == ["a", "c"]
    assert interleave([["a", "b"], ["c", "a", "d"]]) == ["a", "c", "b", "d"]


def test_a_passage_scores_by_its_sentence_holding_most_of_the_question(tmp_path):
    """Two passages of one article share its header; the one with a sentence holding the question's terms
    together (not spread over several sentences) comes first."""
    header = {"header": "Bank fined | Wire, 2023-11-02"}  # indexed with every passage of the article, not one of its sentences
    spread = "The court met on Monday. A bank was in the news. Fraud is common."
    together = "On Monday the court fined the bank for fraud. Markets were calm."
    other = "Rain is expected over the weekend."
    passages = [spread, together, other]
    lexical = lexical_of(tmp_path, ["spread", "together", "other"], passages, [header] * 3)
    question = "Which court fined the bank for fraud on Monday?"
    scores = lexical.sentence_scores(question, [split_sentences(p) for p in passages])
    assert scores[1] > scores[0] > 0
    assert scores[2] == 0
    assert lexical.sentence_scores(question, []) == []


def test_a_sentence_saying_one_clause_outranks_one_with_words_of_several(tmp_path):
    """A long question asks several things; the sentence that says one of them beats a sentence holding more of
    the question's words scattered over its clauses (which the summed IDF alone would put first)."""
    scattered = "The mayor spoke by the river bridge as the team won the cup."
    one_clause = "The mayor opened the new bridge over the river."
    filler = [f"Item {n}: weather, traffic and prices were as usual." for n in range(20)]  # to give the terms IDF
    passages = [scattered, one_clause, *filler]
    lexical = lexical_of(tmp_path, [str(n) for n in range(len(passages))], passages, [{}] * len(passages))
    question = "Which mayor opened the new bridge over the river, and which team won the cup final?"
    scores = lexical.sentence_scores(question, [[scattered], [one_clause]])
    assert scores[1] > scores[0]
    idf = lexical.idfs(["mayor", "river", "bridg", "team", "won", "cup", "open", "new"])
    assert sum(idf[t] for t in ("mayor", "river", "bridg", "team", "won", "cup")) > sum(
        idf[t] for t in ("mayor", "river", "bridg", "open", "new")
    )  # the scattered sentence holds more of the question's weight in all


def test_outlets_and_dates_named_in_a_question():
    sources = ["TechCrunch", "The Verge", "The Independent - Life and Style", "Fortune"]
    q = "Did The Verge and 'TechCrunch' report, on October 6, 2023, the same as The Independent - Life and Style?"
    assert find_outlets(q, sources) == ["The Verge", "TechCrunch", "The Independent - Life and Style"]
    assert find_dates(q) == [date(2023, 10, 6)]
    assert find_outlets("What did the fortune teller say?", sources) == ["Fortune"]  # whole words, any case
    assert find_outlets("Nothing named here", sources) == []


def test_hybrid_finds_the_seed_faq(seeded_store):
    docs = product_retriever(seeded_store, k=3).invoke("What are rare earth minerals?")
    assert len(docs) == 3
    assert "group of 17 elements" in docs[0].page_content
    assert docs[0].metadata["title"].startswith("Putin")


def test_exact_term_reaches_the_top_through_bm25(seeded_store):
    docs = product_retriever(seeded_store, k=5).invoke("Erin Palinski-Wade")
    assert any("Palinski-Wade" in d.page_content for d in docs[:2])


def test_filters_by_outlet_date_and_article(seeded_store):
    r = product_retriever(seeded_store, k=5)
    docs = r.invoke("technology news", sources=["TechCrunch"])
    assert docs and all(d.metadata["source"] == "TechCrunch" for d in docs)
    docs = r.invoke("news", since=date(2023, 12, 1), until=date(2023, 12, 31))
    assert docs and all(d.metadata["published_at"].startswith("2023-12") for d in docs)
    target = docs[0].metadata["article_id"]
    docs = r.invoke("anything", article_ids=[target])
    assert docs and {d.metadata["article_id"] for d in docs} == {target}


def test_named_outlet_is_searched(seeded_store):
    docs = product_retriever(seeded_store, k=4).invoke("What did Fortune report about this?")
    assert docs[0].metadata["source"] == "Fortune"


def test_empty_store_returns_nothing(store):
    assert product_retriever(store).invoke("anything") == []


class TestStandardRetriever(RetrieversIntegrationTests):
    """langchain-tests' conformance suite: k in the constructor and at invoke, sync and async."""

    @pytest.fixture(autouse=True)
    def _store(self, seeded_store):
        type(self)._seeded = seeded_store

    @property
    def retriever_constructor(self):
        return product_retriever

    @property
    def retriever_constructor_params(self):
        return {"store": type(self)._seeded}

    @property
    def retriever_query_example(self):
        return "rare earth minerals"


def product_retriever(store, **settings) -> HybridRetriever:
    """The retriever as the product builds it, from its settings (`k=3` and the like override them)."""
    return build_retriever(Settings(**settings), store)


def test_the_retriever_defaults_are_the_products_settings(store):
    assert HybridRetriever(store=store).model_dump(exclude={"store"}) == build_retriever(Settings(), store).model_dump(exclude={"store"})


@pytest.mark.parametrize("path", ["deeper search", "ids", "where"])
def test_filtered_dense_search_finds_what_chroma_where_finds(seeded_store, monkeypatch, path):
    """Each way of filtering the dense side (an unfiltered search filtered by the lexical index, the matching ids
    passed to Chroma, Chroma's own `where`) returns the chunks Chroma's `where` does."""
    import chatbot.retrieval as retrieval

    monkeypatch.setattr(retrieval, "DENSE_DEPTH", 10**9 if path == "deeper search" else 0)
    monkeypatch.setattr(retrieval, "DENSE_IDS", 10**9 if path == "ids" else 0)
    retriever = product_retriever(seeded_store, k=5)
    lexical = retriever.lexical()
    vector = seeded_store.embeddings.embed_query("rare earth minerals")
    outlet = lexical.outlets[0]
    article = seeded_store.articles()[0]["id"]
    for filters in ({"sources": [outlet]}, {"since": 0, "until": 2**40}, {"article_ids": [article]}, {"sources": ["no such outlet"]}):
        filters = {"sources": None, "since": None, "until": None, "article_ids": None, **filters}
        want = [i for i, _ in seeded_store.dense_search(vector, retriever.candidates, retrieval.chroma_where(**filters))]
        assert retriever._dense(lexical, vector, filters) == want, filters


def test_the_bm25_rescore_is_bm25s_with_the_configured_parameters():
    """Tantivy's shortlist is re-scored with the settings' k1 and b: the scores bm25s gives the same chunks."""
    import bm25s
    from index.lexical import bm25, idf, tokenize

    texts = ["Copper prices hit a record in London; copper rose.", "A lithium mine opened in Nevada.",
             "Rates held at 4.5 percent in London, and rates may rise.", "Copper and lithium"]
    chunks = tokenize(texts)
    reference = bm25s.BM25(k1=0.9, b=0.3)
    reference.index(bm25s.tokenize(texts, stopwords="en", stemmer=__import__("Stemmer").Stemmer("english"), show_progress=False), show_progress=False)
    query = tokenize(["copper London rates copper"])[0]  # a repeated term counts again, as in bm25s
    idfs = {t: idf(sum(t in c for c in chunks), len(chunks)) for t in set(query)}
    mine = bm25(query, chunks, idfs, sum(map(len, chunks)) / len(chunks), 0.9, 0.3)
    assert mine == pytest.approx([float(s) for s in reference.get_scores(query)], rel=1e-6)
    assert mine[1] == 0 and mine[0] > mine[3] > 0


def test_a_lower_case_word_is_written_as_the_archive_writes_it(tmp_path):
    passages = [
        "Amazon has agreed to buy iRobot. The deal gives iRobot new money, and iRobot will keep its name.",
        "Vladimir Putin said on Monday that talks could start. Aides said that Putin was ready, then Putin smiled.",
        "The university said the study was small. Researchers at Carnegie Mellon University and the University of "
        "Michigan led it; the university will publish it in March.",
        "Date of Birth: 14/04/05. Date of Birth: 12/04/05.",  # a form's list: capitalised, but not as a name
        "She found her birth mother in 2021, and her birth records were sealed.",
    ]
    ids = [f"a{n}" for n in range(len(passages))]
    lexical = lexical_of(tmp_path, ids, passages, [{}] * len(passages))
    assert [lexical.written_as(w) for w in ("irobot", "putin", "university", "birth", "mother", "the")] == [
        "iRobot", "Putin", "university", "birth", "mother", "the",
    ]
    # A name of two words, written once: "Mary" alone is never written apart from a surname.
    named = lexical_of(tmp_path / "named", ["n"], ["Fake parts were sold for years, and inspector Mary Schiavo warned airlines."], [{}])
    assert named.written_as("mary schiavo") == "Mary Schiavo" and named.written_as("mary") == "mary"


def test_a_common_word_is_not_read_from_the_chunks_bm25_ranks_first(tmp_path):
    """BM25 ranks first the shortest chunks holding a word: list items and captions ("Release: the Date is TBA."),
    which capitalise common words. A question typed "like the date" keeps "date" as typed (not a name the
    articles lack): the chunks read are any that hold it."""
    prose = [f"Officials said on day {n} that they had set the date for the vote, and that the date would hold whatever the courts decided." for n in range(3)]
    listing = ["Release: the Date is TBA.", "Venue: a Date is set."]
    passages = prose + listing
    ids = [f"a{n}" for n in range(len(passages))]
    lexical = lexical_of(tmp_path, ids, passages, [{}] * len(passages))
    assert lexical.written_as("date", passages=2) == "date"


def test_a_name_typed_without_its_accents_finds_the_passages_that_write_them(tmp_path):
    passages = ["His subject was Beyoncé, and the portraits spoke of a precocious talent.", "The singer Iñigo Quintero topped the chart in Spain."]
    lexical = lexical_of(tmp_path, ["a", "b"], passages, [{}, {}])
    assert [i for i, _ in lexical.search("Beyonce portraits", 2)] == ["a"]
    assert [i for i, _ in lexical.search("inigo quintero", 2)] == ["b"]
    assert lexical.knows("Beyonce") and not lexical.absent_terms("Inigo", ["b"], 1.0)
