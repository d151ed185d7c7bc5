from index.articles import Article
from index.loaders import LoadError


def art(title="Bridge reopens", body=None, **kw):
    body = body or ("The river bridge reopened on Friday after two years of repairs. " * 3 + "\n\n" + "Traffic is expected to ease across the city. " * 3)
    return Article(title=title, body=body, source=kw.pop("source", "City Wire"), published_at=kw.pop("published_at", "2024-02-03"), **kw)


def test_reindexing_the_same_article_adds_nothing(store):
    first = store.add([art(url="https://x.test/bridge")])
    again = store.add([art(url="https://x.test/bridge")])
    assert len(first.added) == 1 and first.chunks > 0
    assert again.unchanged == first.added and not again.added and again.chunks == 0
    assert store.stats() == {"articles": 1, "chunks": first.chunks}


def test_changed_article_replaces_its_chunks(store):
    store.add([art(url="https://x.test/bridge")])
    report = store.add([art(url="https://x.test/bridge", body="The bridge stays closed after inspectors found new cracks.")])
    assert len(report.updated) == 1
    got = store.chunks.get(include=["documents"])
    assert len(got["ids"]) == 1 and "new cracks" in got["documents"][0]
    assert store.stats()["articles"] == 1


def test_remove(store):
    a = art(url="https://x.test/bridge")
    store.add([a, art(title="Other story", url="https://x.test/other", body="The zoo welcomed twin panda cubs on Sunday, keepers said.")])
    assert store.remove(a.id)
    assert not store.remove(a.id)
    assert store.stats()["articles"] == 1
    assert not store.chunks.get(where={"article_id": a.id})["ids"]


def test_chunk_metadata_allows_filtering_by_outlet_and_date(store):
    store.add([art(url="https://x.test/1"), art(title="Late", url="https://x.test/2", source="Other", published_at="2024-05-01", body="Snow closed the mountain pass for a day.")])
    meta = store.chunks.get(where={"source": "Other"}, include=["metadatas"])["metadatas"]
    assert meta and all(m["title"] == "Late" for m in meta)
    assert meta[0]["published_ts"] > 0 and meta[0]["published_at"].startswith("2024-05-01")


def test_bad_items_are_reported_and_good_ones_indexed(store):
    report = store.add([LoadError("x.txt", "is empty"), art(url="https://x.test/ok")])
    assert report.failed == ["x.txt: is empty"] and len(report.added) == 1


def test_orphan_chunks_from_an_interrupted_run_are_invisible_then_swept(store):
    ok = art(url="https://x.test/ok")
    store.add([ok])
    # A run killed after writing chunks but before the article's record: chunks without a record.
    store.chunks.upsert(ids=["deadbeef:0"], embeddings=[[0.0] * 383 + [1.0]], documents=["half"], metadatas=[{"article_id": "deadbeef"}])
    assert "deadbeef:0" not in store.all_chunks()["ids"]
    assert store.sweep_orphans() == 1
    assert store.stats()["chunks"] == store.all_chunks()["ids"].__len__()


def test_restart_reuses_the_store_without_reembedding(settings, embeddings, monkeypatch):
    from index.store import ArticleStore

    ArticleStore(settings, embeddings).add([art(url="https://x.test/a")])
    reopened = ArticleStore(settings, embeddings)
    monkeypatch.setattr(embeddings, "encode", lambda *a, **k: (_ for _ in ()).throw(AssertionError("re-embedded")))
    assert reopened.add([art(url="https://x.test/a")]).unchanged
    assert reopened.stats()["articles"] == 1


def test_whole_collection_reads_go_page_by_page(store, monkeypatch):
    # One unpaged read of ~100k chunks fails in embedded Chroma; pages of 2 must give the same rows.
    import index.store

    store.add([art(f"Story {n}", " ".join(f"Sentence {i} of story {n} about the bridge." for i in range(150))) for n in "AB"])
    whole = store.all_chunks()
    monkeypatch.setattr(index.store, "READ_PAGE", 2)
    paged = store.all_chunks()
    assert len(whole["ids"]) > 4 and sorted(paged["ids"]) == sorted(whole["ids"])
    assert paged["documents"] == [whole["documents"][whole["ids"].index(i)] for i in paged["ids"]]
    # Every paged chunk's stored vector reads back, none re-embedded.
    vectors, lost = store.vectors(paged["ids"], index.store.indexed_texts(paged))
    assert not lost and len(vectors) == len(whole["ids"])
    assert len(store.articles()) == 2 and store.stats()["articles"] == 2


def test_records_are_read_by_id_in_pages(store):
    # A lexical sync may ask for the records of tens of thousands of articles by id (a store grown by another
    # process): one query with more than 32,766 ids fails in embedded Chroma ("too many SQL variables").
    store.add([art("Bridge reopens"), art("Tunnel closes", source="Metro Desk")])
    known = sorted(store.record_ids())
    got = store.record_fingerprints(ids=[f"not-indexed-{n}" for n in range(40_000)] + known)
    assert sorted(got) == known
