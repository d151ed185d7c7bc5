"""Access to the served app over real HTTP on 127.0.0.1 (issue 7): nothing without the password,
uploads capped in size and type, upload names kept inside the upload folder, one writer per store."""

from __future__ import annotations

import ipaddress
import os
import shutil
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import httpx
import pytest
from gradio.utils import get_upload_folder

from chatbot.app import ChatApp, create_app, launch
from chatbot.settings import Settings
from index.feeds import FeedRegistry
from index.serving import ServingLock, StoreServed

from tests.conftest import ROOT, SEEDS
from tests.local_site import STORIES, Route, article_page, rss, site  # noqa: F401  (site is a fixture)
from tests.serving import free_port, served, wait_until_served

USER, PASSWORD = "reader", "s3cret"
HOSTILE_NAMES = ["../../etc/passwd.txt", "/etc/passwd.txt", "..\\..\\boot.ini.txt", "a/../../../b.txt", "./.././c.md"]


@pytest.fixture(scope="module")
def locked_url(seeded_chain, seeded_settings):
    with served(seeded_chain, seeded_settings, auth_user=USER, auth_password=PASSWORD, max_upload_mb=1) as url:
        yield url


def logged_in(url: str) -> httpx.Client:
    client = httpx.Client(base_url=url, timeout=30)
    assert client.post("login", data={"username": USER, "password": PASSWORD}).status_code == 200
    return client


def test_no_page_api_or_file_route_without_the_password(locked_url):
    client = logged_in(locked_url)
    uploaded = client.post("gradio_api/upload", files=[("files", ("note.txt", b"private words", "text/plain"))]).json()[0]
    anonymous = httpx.Client(base_url=locked_url, timeout=30)
    page = anonymous.get("")
    # The page is the login form: none of the app (its config, its articles) is in it.
    assert page.status_code == 200 and "Putin" not in page.text and "nq-library" not in page.text
    for path in ("config", "gradio_api/info", "gradio_api/info?all_endpoints=true", f"gradio_api/file={uploaded}",
                 "gradio_api/file=/etc/passwd", "gradio_api/queue/data?session_hash=x", "gradio_api/upload_progress?upload_id=x"):
        assert anonymous.get(path).status_code in (401, 403), path
    for path in ("gradio_api/call/chat", "gradio_api/run/chat", "gradio_api/api/chat", "gradio_api/queue/join"):
        assert anonymous.post(path, json={"data": ["What are rare earth minerals?"]}).status_code in (401, 403), path
    assert anonymous.post("gradio_api/upload", files=[("files", ("x.txt", b"x", "text/plain"))]).status_code == 401
    assert anonymous.post("login", data={"username": USER, "password": "wrong"}).status_code == 400
    # ... and all of it with the password; files outside the upload folder stay refused even then.
    assert client.get("config").status_code == 200
    assert client.get(f"gradio_api/file={uploaded}").text == "private words"
    assert client.get("gradio_api/file=/etc/passwd").status_code == 403


def test_upload_names_never_leave_the_upload_folder(locked_url):
    client = logged_in(locked_url)
    files = [("files", (name, f"body of {name}".encode(), "text/plain")) for name in HOSTILE_NAMES]
    paths = [Path(p) for p in client.post("gradio_api/upload", files=files).json()]
    assert len(paths) == len(HOSTILE_NAMES)
    folder = Path(get_upload_folder()).resolve()
    for name, path in zip(HOSTILE_NAMES, paths):
        # Each upload gets a folder of its own (named by its content's hash) right under the upload folder.
        assert path.resolve().parent.parent == folder and ".." not in path.parts, (name, path)
        assert path.read_text() == f"body of {name}"  # stored where it says, not in /etc or above
    assert not Path("/etc/passwd.txt").exists()


def test_uploads_over_the_size_limit_are_refused(locked_url):
    client = logged_in(locked_url)
    big = client.post("gradio_api/upload", files=[("files", ("big.txt", b"word " * 300_000, "text/plain"))])
    assert big.status_code == 413 and "1048576 bytes" in big.text


def test_the_upload_handler_names_files_as_uploaded_and_refuses_other_types(seeded_chain, tmp_path):
    upload = tmp_path / "upload"
    upload.mkdir()
    (upload / "tool.exe").write_bytes(b"MZ\x90\x00")
    big = upload / "big.txt"
    big.write_text("Words of a long article. " * 50_000)
    small = seeded_chain.settings.model_copy(update={"max_upload_mb": 1})
    ui = ChatApp(type(seeded_chain)(**{**seeded_chain.__dict__, "settings": small}))
    status, rows, *_ = ui.add_files([str(upload / "tool.exe"), str(big)], "")
    assert "0 added, 0 updated, 0 unchanged, 2 failed" in status
    assert "tool.exe: unsupported file type .exe" in status and "big.txt" in status and "/upload/" not in status
    assert len(rows) == len(seeded_chain.store.articles())  # nothing written


def listening_addresses(port: int) -> set[str]:
    """The local addresses with a socket listening on `port` (Linux's /proc/net/tcp and tcp6)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.split(":")
            if state == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
                packed = bytes.fromhex(address)
                # The kernel writes each 32-bit word in host (little-endian) order.
                words = b"".join(packed[i : i + 4][::-1] for i in range(0, len(packed), 4))
                found.add(str(ipaddress.ip_address(words)))
    return found


def test_the_app_as_launched_listens_on_loopback_only_and_asks_for_the_password(seeded_chain, seeded_settings):
    # Only the port and the password are set: the address is whatever the product's settings say.
    settings = seeded_settings.model_copy(update={"port": free_port(), "auth_user": USER, "auth_password": PASSWORD})
    app = launch(create_app(seeded_chain), settings, block=False)
    try:
        assert listening_addresses(settings.port) == {"127.0.0.1"}
        url = f"http://127.0.0.1:{settings.port}/"
        assert httpx.get(url + "config", timeout=30).status_code == 401
        assert "Putin" not in httpx.get(url, timeout=30).text
        assert logged_in(url).get("config").status_code == 200
    finally:
        app.close()


@pytest.mark.slow
def test_a_served_store_has_one_writer_and_other_writers_stop_in_one_line(seeded_settings, seeded_store, tmp_path, site):
    store = tmp_path / "store"
    shutil.copytree(seeded_settings.store, store)
    title, paragraphs = STORIES["storm"]
    site.routes["/news/storm"] = Route(article_page(title, paragraphs, "Coast Courier", "2026-11-01"))
    site.routes["/feed.xml"] = Route(rss("Coast Courier", [{"title": title, "link": site.url("/news/storm")}]),
                                     content_type="application/rss+xml")
    FeedRegistry(store).add(site.url("/feed.xml"), datetime.now(timezone.utc))
    port = free_port()
    newsqa = [sys.executable, "-m", "chatbot", "--store", str(store)]
    server = subprocess.Popen([*newsqa, "serve", "--port", str(port)], cwd=ROOT, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True, env={**os.environ, "NEWSQA_FEEDS_SYNC_MINUTES": "60"})
    try:
        wait_until_served(server, port)
        # The app syncs the followed feeds on its schedule (the first sync at start).
        for _ in range(240):
            if FeedRegistry(store).load()[site.url("/feed.xml")].last_sync:
                break
            time.sleep(0.25)
        assert FeedRegistry(store).load()[site.url("/feed.xml")].last_result == "1 added, 0 updated, 0 skipped, 0 failed"
        assert listening_addresses(port) == {"127.0.0.1"}  # `newsqa serve` binds loopback only
        # Other processes must not write the embedded store under the running app.
        with pytest.raises(StoreServed, match="served by a running chat app"):
            ServingLock(Settings(store=store)).check_free()
        add = subprocess.run([*newsqa, "index", "add", str(SEEDS)], cwd=ROOT, capture_output=True, text=True, timeout=300)
        assert add.returncode == 1
        assert add.stderr.strip() == (
            f"error: the store {store} is served by a running `newsqa serve`, which is its only writer; "
            "add articles in the app's Library tab, or stop the app first"
        )
        second = subprocess.run([*newsqa, "serve", "--port", str(free_port())], cwd=ROOT, capture_output=True, text=True, timeout=300)
        assert second.returncode == 1 and "is already served by a running `newsqa serve`" in second.stderr.strip().splitlines()[-1]
    finally:
        server.terminate()
        server.wait(timeout=30)
    # Once the app is gone, the CLI writes again (and finds nothing new).
    add = subprocess.run([*newsqa, "index", "add", str(SEEDS)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert add.returncode == 0 and add.stdout.startswith("0 added, 0 updated, 21 unchanged"), add.stdout + add.stderr
