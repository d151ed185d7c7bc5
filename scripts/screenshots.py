"""Update the app's screenshots in docs/: docs/screenshot.png (desktop) and docs/screenshot-phone.png.

    python scripts/screenshots.py [--out docs]

Indexes the seed articles into a temporary store, serves the app on 127.0.0.1, asks one question in
headless Chromium (Debian's chromium) at 1280x900 and at 390x844, and saves a full-page screenshot of
each. The tests never write these files; run this when the app's look changes.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
QUESTION = "What happened at OpenAI?"
VIEWPORTS = {"screenshot.png": (1280, 900), "screenshot-phone.png": (390, 844)}


def take(url: str, out: Path) -> list[Path]:
    from playwright.sync_api import sync_playwright

    saved = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for name, (width, height) in VIEWPORTS.items():
            page = browser.new_page(viewport={"width": width, "height": height})
            page.set_default_timeout(120_000)
            page.goto(url)
            page.wait_for_selector("#nq-suggestions label")
            page.fill("#nq-message textarea", QUESTION)
            page.click("#nq-send")
            page.wait_for_function(
                "q => { const a = document.querySelector('#nq-sources .nq-asked'); return a && a.textContent === q; }", arg=QUESTION
            )
            page.wait_for_timeout(500)
            page.screenshot(path=str(out / name), full_page=True)
            saved.append(out / name)
            page.close()
        browser.close()
    return saved


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs", help="Folder to write the screenshots to.")
    args = parser.parse_args()

    from chatbot.app import create_app, launch
    from chatbot.chain import build_chain
    from chatbot.library import Library
    from chatbot.loadtest import free_port
    from chatbot.settings import Settings

    with tempfile.TemporaryDirectory(prefix="newsqa-screens-") as tmp:
        settings = Settings(store=Path(tmp) / "store", host="127.0.0.1", port=free_port())
        chain = build_chain(settings)
        Library(settings, chain.store).add([ROOT / "seeds"])
        app = launch(create_app(chain), settings, block=False)
        try:
            for path in take(f"http://127.0.0.1:{settings.port}/", args.out):
                print(path)
        finally:
            app.close()


if __name__ == "__main__":
    main()
