"""The LangChain RAG tutorial pipeline: the yardstick `newsqa eval retrieval --baseline` scores and
`newsqa bench` times beside the product, built the same way for both.

RecursiveCharacterTextSplitter(1000, 100) over each article's body, Chroma via langchain-chroma, the
same embedding model, dense similarity search only.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import statistics
from pathlib import Path

from index.articles import Article

log = logging.getLogger(__name__)

# The tutorial's splitter: 1000 characters with 100 of overlap.
BASELINE_CHUNK_CHARS = 1000
BASELINE_OVERLAP_CHARS = 100
ADD_BATCH = 256  # documents per add_documents call, so the progress bar moves


def baseline_dir(store: Path) -> Path:
    """The tutorial pipeline's own store, beside the product's (never inside it)."""
    store = Path(store)
    return store.with_name(store.name + "-tutorial-baseline")


class TutorialBaseline:
    """The tutorial pipeline over a corpus, in a folder of its own."""

    COLLECTION = "tutorial"

    def __init__(self, folder: Path, embeddings):
        self.folder = Path(folder)
        self.embeddings = embeddings
        self._vectorstore = None

    @property
    def vectorstore(self):
        if self._vectorstore is None:
            from langchain_chroma import Chroma

            self._vectorstore = Chroma(
                collection_name=self.COLLECTION,
                embedding_function=self.embeddings,
                persist_directory=str(self.folder / "chroma"),
                collection_metadata={"hnsw:space": "cosine"},
            )
        return self._vectorstore

    @staticmethod
    def fingerprint(articles: list[Article]) -> str:
        key = f"{BASELINE_CHUNK_CHARS}/{BASELINE_OVERLAP_CHARS}\n" + "\n".join(sorted(a.content_hash for a in articles))
        return hashlib.sha1(key.encode()).hexdigest()

    def ensure(self, articles: list[Article], progress: bool = False) -> int:
        """Build the tutorial store unless it already holds exactly this corpus; the number of its chunks."""
        from langchain_core.documents import Document
        from langchain_text_splitters import RecursiveCharacterTextSplitter
        from tqdm import tqdm

        marker = self.folder / "corpus.sha1"
        wanted = self.fingerprint(articles)
        if marker.exists() and marker.read_text().strip() == wanted:
            return len(self.vectorstore.get(include=[])["ids"])
        if self.folder.exists():
            shutil.rmtree(self.folder)
        self.folder.mkdir(parents=True)
        splitter = RecursiveCharacterTextSplitter(chunk_size=BASELINE_CHUNK_CHARS, chunk_overlap=BASELINE_OVERLAP_CHARS)
        docs = splitter.split_documents(
            [Document(page_content=a.body, metadata={"title": a.title, "source": a.source}) for a in articles]
        )
        log.info("tutorial baseline: %d chunks from %d articles", len(docs), len(articles))
        for start in tqdm(range(0, len(docs), ADD_BATCH), desc="baseline", unit="batch", disable=not progress):
            part = docs[start : start + ADD_BATCH]
            self.vectorstore.add_documents(part, ids=[f"{start + n}" for n in range(len(part))])
        marker.write_text(wanted)
        return len(docs)

    def search(self, query: str, k: int) -> list[str]:
        return [d.page_content for d in self.vectorstore.similarity_search(query, k=k)]

    def mean_chunk_chars(self) -> float:
        docs = self.vectorstore.get(include=["documents"])["documents"]
        return round(statistics.mean(len(d) for d in docs), 1) if docs else 0.0
