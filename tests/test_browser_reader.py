"""What a daily reader does, in headless Chromium at desktop (1280x900) and phone (390x844) sizes."""

from __future__ import annotations

import re

import pytest

from tests.test_browser import ask, browser, url  # noqa: F401 (fixtures: the served app over a copy of the seeds, Chromium)
from tests.test_browser import TIMEOUT_MS

pytestmark = pytest.mark.browser

SIZES = {"desktop": (1280, 900), "phone": (390, 844)}
FIRST = "What share of adults showed signs of addiction to ultra-processed foods?"
FOLLOWUP = "Who led the research?"
PUTIN = "Putin Signals Willingness to Work with the U.S. on Rare Earth Minerals"
TWO_PASSAGES = "What are rare earth minerals, and what might a U.S.-Russia agreement entail?"  # two of one article


@pytest.fixture(params=list(SIZES))
def page(request, browser, url):  # noqa: F811
    width, height = SIZES[request.param]
    context = browser.new_context(viewport={"width": width, "height": height}, has_touch=request.param == "phone")
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.size = request.param
    page.goto(url)
    page.wait_for_selector("#nq-suggestions label")
    yield page
    context.close()


def searched_for(page) -> str:
    if not page.locator("#nq-query textarea").count():  # Gradio renders a closed accordion's content on opening
        page.click("#nq-query-box button")
    return page.input_value("#nq-query textarea")


def open_sources(page) -> None:
    """Unfold the sources panel as a phone reader does (a tap on its head); on a desktop it is open already."""
    if not page.evaluate("document.querySelector('#nq-sources details.nq-panel').open"):
        page.click("#nq-sources summary")
        page.wait_for_function("document.querySelector('#nq-sources details.nq-panel').open")


def test_one_card_per_article_and_a_preview_on_each_marker(page):
    ask(page, TWO_PASSAGES)  # answered from two passages of the same article
    cards = page.locator("#nq-sources .nq-source")
    articles = page.evaluate("[...document.querySelectorAll('#nq-sources .nq-source')].map(c => c.dataset.article)")
    assert len(articles) == len(set(articles)) == cards.count() == 1
    assert page.locator("#nq-sources .nq-source .nq-passage").count() >= 2
    assert cards.first.locator(".nq-title").text_content().startswith(PUTIN)  # (folded on a phone)
    marker = page.locator("#nq-chat a.nq-cite").first
    if page.size == "phone":
        marker.tap()
    else:
        marker.hover()
    title = page.locator(".nq-preview .nq-preview-title")
    title.wait_for(state="visible")
    assert title.inner_text().startswith(PUTIN)
    assert page.evaluate("document.querySelector('.nq-preview .nq-preview-sentence').textContent.length > 20")


def test_suggestions_are_whole_questions_never_furniture(page):
    def shown() -> list[str]:
        return [t.strip() for t in page.locator("#nq-suggestions label").all_inner_texts()]

    before = shown()
    ask(page, "Why was Sam Altman fired from OpenAI?")
    page.wait_for_function("document.querySelectorAll('#nq-suggestions label').length > 0")
    for question in before + shown():
        assert question.endswith("?") and not question.endswith(("…?", "...?", "…", "...")), question
        assert not re.search(r"getty|most read|pic\.twitter", question, re.IGNORECASE), question


def test_filter_chips_show_with_the_filters_collapsed_and_remove_their_filter(page):
    page.click("#nq-filters button")  # open Filters
    page.fill("#nq-since textarea", "2023-11-18")
    page.press("#nq-since textarea", "Enter")
    page.click("#nq-filters button")  # and close it again
    chip = page.locator(".nq-chip", has_text="From 2023-11-18")
    chip.wait_for(state="visible")
    box = chip.bounding_box()  # whole, on one line, inside the screen
    assert box["x"] >= 0 and box["x"] + box["width"] <= page.viewport_size["width"]
    assert chip.evaluate("""c => { const range = document.createRange(); range.selectNodeContents(c);
        return c.scrollWidth <= c.clientWidth + 1 && new Set([...range.getClientRects()].map(r => Math.round(r.bottom))).size === 1; }""")
    ask(page, "What happened at OpenAI?")
    open_sources(page)  # folded under the answer on a phone
    assert set(re.findall(r"\d{4}-\d{2}-\d{2}", page.inner_text("#nq-sources .nq-meta >> nth=0"))) == {"2023-11-18"}
    chip.click()
    chip.wait_for(state="detached")
    assert page.input_value("#nq-since textarea") == ""


def test_an_unquoted_yaml_date_uploads_and_the_upload_box_clears(page, tmp_path):
    tag = page.size  # the app is shared by both sizes: a title of its own each time
    article = tmp_path / f"tram-{tag}.md"
    article.write_text(
        f"---\ntitle: Tram line {tag} opens in Quokkaville\nsource: Quokka Gazette\npublished_at: 2024-03-14\n---\n"
        "The new tram line in Quokkaville opened on Thursday with free rides for the first week, the city said.\n",
        encoding="utf-8",
    )
    page.get_by_role("tab", name="Library").click()
    page.set_input_files("#nq-upload input[type=file]", [str(article)])
    page.wait_for_function("document.querySelector('#nq-lib-status').innerText.includes('1 added')")
    page.fill("#nq-lib-search textarea", f"Tram line {tag}")
    page.wait_for_function("document.querySelector('#nq-library').innerText.includes('2024-03-14')")
    assert "articles" in page.inner_text("#nq-lib-count") and "passages" in page.inner_text("#nq-lib-count")
    page.wait_for_function(f"!document.querySelector('#nq-upload').innerText.includes('tram-{tag}.md')")

    # Remove asks first; Cancel keeps the article.
    def choose():
        page.click("#nq-remove-choice input")
        page.locator("#nq-remove-choice [role=option]", has_text=f"Tram line {tag}").first.click()

    choose()
    page.click("#nq-remove")
    page.locator("#nq-remove-question").wait_for(state="visible")
    assert f"Tram line {tag}" in page.inner_text("#nq-remove-question")
    page.click("#nq-remove-cancel")
    page.locator("#nq-remove-question").wait_for(state="hidden")
    assert f"Tram line {tag}" in page.inner_text("#nq-library")
    choose()
    page.click("#nq-remove")
    page.click("#nq-remove-yes")
    page.wait_for_function("document.querySelector('#nq-lib-status').innerText.includes('Removed')")


def test_a_long_question_gets_one_line_and_never_breaks_the_layout(page):
    page.fill("#nq-message textarea", "Why " * 1249 + "now?")
    page.click("#nq-send")
    page.wait_for_function("document.querySelector('#nq-chat').innerText.includes('characters long')")
    reply = page.locator("#nq-chat .message.bot").last.inner_text()
    assert "the question is 5,000 characters long; ask it in at most 1,000" in reply and "\n" not in reply.strip()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


@pytest.mark.parametrize("reset", ["#nq-clear", "trash", "#nq-unpin"])
def test_clearing_resets_history_and_sources(page, reset):
    ask(page, FIRST)
    ask(page, FOLLOWUP)
    assert FIRST.split()[0] in searched_for(page) or "ultra-processed" in searched_for(page)
    if reset == "#nq-unpin":
        page.click("#nq-pin-choice input")
        page.locator("#nq-pin-choice [role=option]").first.click()
        page.click("#nq-pin")
        page.wait_for_function("document.querySelector('#nq-pin-banner').innerText.includes('Pinned')")
        page.click("#nq-unpin")
        page.wait_for_function("!document.querySelector('#nq-pin-banner').innerText.includes('Pinned')")
    elif reset == "trash":
        page.locator("#nq-chat button[aria-label='Clear']").click()
    else:
        page.click("#nq-clear")
    # The head every reader sees, folded or not, drops the count of cited articles; inside, the empty-panel note.
    page.wait_for_function("document.querySelector('#nq-sources summary').innerText.trim() === 'Sources'")
    open_sources(page)
    assert "appear here" in page.inner_text("#nq-sources")
    assert page.locator("#nq-pin-box").is_hidden()
    ask(page, FOLLOWUP)
    assert searched_for(page) == FOLLOWUP  # no earlier question carried


def test_phone_sources_sit_right_under_the_answer(page):
    ask(page, FIRST)
    chat, sources, message = (page.locator(s).bounding_box() for s in ("#nq-chat", "#nq-sources", "#nq-message"))
    if page.size == "phone":
        assert chat["y"] < sources["y"] < message["y"]
        assert not page.evaluate("document.querySelector('#nq-sources details.nq-panel').open")  # folded
        assert page.locator("#nq-outlets").is_hidden()  # filters behind their button
    else:
        assert sources["x"] > chat["x"] + chat["width"] - 1  # beside the chat
        assert page.evaluate("document.querySelector('#nq-sources details.nq-panel').open")
