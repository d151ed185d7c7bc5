"""The served app in a real headless Chromium (Debian's `chromium`, driven by Playwright)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from chatbot.chain import build_chain
from index.store import ArticleStore

from tests.serving import served

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
TIMEOUT_MS = 60_000

PUTIN = "Putin Signals Willingness to Work with the U.S. on Rare Earth Minerals"
FOX = "Ultraprocessed foods with ‘feel-good chemicals’"
EVIL_TITLE = "<script>alert('title')</script><img src=x onerror=alert('img')> Quokka Harbour ferry strike ends"


@pytest.fixture(scope="module")
def url(seeded_settings, seeded_store, embeddings, tmp_path_factory):
    """The app over a copy of the seeded store, since these tests upload articles."""
    settings = seeded_settings.model_copy(update={"store": tmp_path_factory.mktemp("browser") / "store"})
    shutil.copytree(seeded_settings.store, settings.store)
    chain = build_chain(settings, store=ArticleStore(settings, embeddings))
    with served(chain, settings) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.fail("Chromium is missing: apt-get install chromium (.ci/run does it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, url):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.dialogs = []  # any alert() means article text ran as code

    def on_dialog(dialog):
        page.dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.goto(url)
    page.wait_for_selector("#nq-suggestions label")
    yield page
    context.close()


def ask(page, question: str) -> str:
    """Ask, wait for the final answer, return the last bot message's HTML."""
    page.fill("#nq-message textarea", question)
    page.click("#nq-send")
    # The sources panel names the question it answers once the answer is final.
    page.wait_for_function(
        "q => { const asked = document.querySelector('#nq-sources .nq-asked'); return asked && asked.textContent === q; }",
        arg=question,
    )
    return page.locator("#nq-chat .message.bot").last.inner_html()


def source_titles(page) -> list[str]:
    return page.locator("#nq-sources .nq-title").all_inner_texts()


def test_chat_streams_cites_follows_up_and_pins(page, tmp_path):
    # Record every state of the chat so the streamed steps (placeholder, then text) can be checked.
    page.evaluate(
        """() => { window.nqStates = [];
        new MutationObserver(() => window.nqStates.push(document.querySelector('#nq-chat').innerText))
            .observe(document.querySelector('#nq-chat'), {subtree: true, childList: true, characterData: true}); }"""
    )
    answer = ask(page, "What are rare earth minerals?")
    assert '<a class="nq-cite" href="#nq-src-1">[1]</a>' in answer and "17 elements" in answer
    states = page.evaluate("window.nqStates")
    assert any("Searching the articles" in s for s in states) and "17 elements" in states[-1]
    assert source_titles(page)[0] == PUTIN
    assert page.locator("#nq-src-1 mark").inner_text().startswith("Rare earth minerals are a group of 17 elements")

    marker = page.locator("#nq-chat a.nq-cite").last  # a marker leads to its own source card
    card = marker.get_attribute("href")
    marker.click()
    page.wait_for_selector(f"{card}.nq-flash")  # the cited passage, inside its article's card
    assert len(page.context.pages) == 1

    ask(page, "What share of adults showed signs of addiction to ultra-processed foods?")
    followup = ask(page, "How does that compare with alcohol and tobacco?")
    assert "close to the addiction levels seen for alcohol and tobacco" in followup
    assert source_titles(page)[0].startswith(FOX)
    page.click("#nq-query-box button")
    assert "ultra-processed" in page.input_value("#nq-query textarea")  # the query carried the topic over

    page.click("#nq-pin-choice input")
    page.locator("#nq-pin-choice [role=option]", has_text=FOX).first.click()
    page.click("#nq-pin")
    page.wait_for_function("document.querySelector('#nq-pin-banner').innerText.includes('Pinned')")
    ask(page, "What does it say about taxes on sugary drinks?")
    titles = source_titles(page)
    assert titles and all(t.startswith(FOX) for t in titles)
    assert "sugar-sweetened beverage taxes" in page.inner_text("#nq-sources")
    page.click("#nq-unpin")
    page.wait_for_function("!document.querySelector('#nq-pin-banner').innerText.includes('Pinned')")

    page.click("#nq-clear")
    page.wait_for_function("document.querySelectorAll('#nq-chat .message').length === 0")
    ask(page, "Why was Sam Altman fired from OpenAI?")
    assert page.input_value("#nq-query textarea") == "Why was Sam Altman fired from OpenAI?"  # history was cleared
    cited = len(source_titles(page))
    assert cited >= 1 and page.locator("#nq-timeline circle").count() == cited  # one dot per cited article
    assert page.locator("#nq-timeline li").count() == cited  # each with its title
    page.locator("#nq-suggestions").scroll_into_view_if_needed()
    page.evaluate("window.scrollTo(0, 0)")
    # A screenshot for a person looking into a failure; docs/ is updated by scripts/screenshots.py only.
    page.screenshot(path=str(tmp_path / "chat.png"), full_page=True)
    assert page.dialogs == []


def test_suggested_question_is_asked_on_click(page):
    first = page.locator("#nq-suggestions label").first
    question = first.inner_text()
    assert question == "What are rare earth minerals?"  # the seed article's FAQ comes first
    first.click()
    page.wait_for_function(
        "q => { const asked = document.querySelector('#nq-sources .nq-asked'); return asked && asked.textContent === q; }",
        arg=question,
    )
    assert source_titles(page)[0] == PUTIN
    # After the answer, the suggestions come from the cited article and leave out what was asked.
    page.wait_for_function("!document.querySelector('#nq-suggestions').innerText.includes('What are rare earth minerals?')")
    assert "How important are rare earth minerals to Russia’s economy?" in page.inner_text("#nq-suggestions")


def test_upload_then_ask_and_untrusted_text_is_inert(page, tmp_path):
    good = tmp_path / "lemonade.md"
    good.write_text(
        "# Zorblax lemonade festival draws record crowds\n\n"
        "The Zorblax lemonade festival in Tallinn drew a record 40,000 visitors this weekend, organisers said.\n\n"
        "Stalls sold lemonade made with sea buckthorn, rhubarb and birch sap.\n",
        encoding="utf-8",
    )
    evil = tmp_path / "ferry.json"
    evil.write_text(json.dumps({
        "title": EVIL_TITLE,
        "source": "<b>Harbour Times</b>",
        "url": "javascript:alert('url')",
        "published_at": "2024-03-05",
        "body": "The Quokka Harbour ferry strike ended on Tuesday <img src=x onerror=alert('body')> after workers accepted "
                "a four percent raise [click](javascript:alert('md')) <script>alert('script')</script>.\n\n"
                "Ferries will run on the normal timetable from Wednesday, the operator said.",
    }), encoding="utf-8")

    page.get_by_role("tab", name="Library").click()
    page.set_input_files("#nq-upload input[type=file]", [str(good), str(evil)])
    page.wait_for_function("document.querySelector('#nq-lib-status').innerText.includes('2 added')")
    assert EVIL_TITLE in page.inner_text("#nq-library")  # shown as text (dated 2024, so listed first)
    page.fill("#nq-lib-search textarea", "zorblax")  # the table only renders the rows in view: search
    page.wait_for_function("document.querySelector('#nq-library').innerText.includes('Zorblax lemonade festival')")
    assert "Quokka" not in page.inner_text("#nq-library")

    page.get_by_role("tab", name="Chat").click()
    answer = ask(page, "How many visitors did the Zorblax lemonade festival draw?")
    assert "40,000 visitors" in answer
    assert source_titles(page)[0] == "Zorblax lemonade festival draws record crowds"

    answer = ask(page, "How did the Quokka Harbour ferry strike end?")
    assert "four percent raise" in answer
    assert EVIL_TITLE in source_titles(page)
    assert "<img src=x onerror=alert('body')>" in page.inner_text("#nq-sources")
    assert page.evaluate(
        "document.querySelectorAll('#nq-chat img, #nq-chat script, #nq-sources img, #nq-sources script,"
        " #nq-library img, #nq-library script, a[href^=\"javascript\"]').length"
    ) == 0
    assert page.dialogs == []
