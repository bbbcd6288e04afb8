"""The editors' pages in a real browser: Debian's headless Chromium, driven by Playwright
(never a browser Playwright downloads). Each scenario leaves screenshots in
TEST_ARTIFACTS_DIR, or in the test's temporary directory."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import Browser, Locator, Page, expect, sync_playwright
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import SQLITE_ONLY, SmtpSink, WorkerProcess, unavailable, wait_until
from tests.web.conftest import EditorLogin
from tests.web.test_pages import ACCOUNTS, TITLE, Seeded, seed
from worker.settings import Settings
from worker.store import digests
from worker.store import social as social_posts

pytestmark = [SQLITE_ONLY, pytest.mark.newsroom_config(ACCOUNTS)]  # a browser: the UI
TIMEOUT_MS = 15_000


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    executable = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(executable).is_file():
        unavailable("Debian's Chromium is not installed (apt-get install -y chromium)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, headless=True)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser, web: httpx.Client) -> Iterator[Page]:
    context = browser.new_context(
        base_url=str(web.base_url).rstrip("/"), viewport={"width": 1280, "height": 900}
    )
    context.set_default_timeout(TIMEOUT_MS)
    opened = context.new_page()
    yield opened
    context.close()


@pytest.fixture
def snap(page: Page, request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[str], None]:
    """Takes a full-page screenshot named after the test and the step."""
    directory = Path(os.environ.get("TEST_ARTIFACTS_DIR") or tmp_path / "screenshots")
    directory.mkdir(parents=True, exist_ok=True)
    print(f"screenshots: {directory}")
    name = re.sub(r"[^\w-]+", "-", request.node.name).strip("-")

    def take(step: str) -> None:
        page.screenshot(path=directory / f"{name}-{step}.png", full_page=True)

    return take


@pytest.fixture
def calendar(
    page: Page, editor: EditorLogin, settings: Settings, sessions: sessionmaker[Session]
) -> Seeded:
    """The social calendar, logged in, with a planned post on each Paris account."""
    seeded = seed(settings, sessions)
    log_in(page, editor, "/social")
    return seeded


def open_editor(page: Page, post_id: int) -> Locator:
    card = page.locator(f'article[data-post="{post_id}"]')
    card.get_by_text("Edit, reschedule or cancel").click()
    return card


def log_in(page: Page, editor: EditorLogin, path: str) -> None:
    """Open ``path``, get sent to the login form, log in and come back."""
    page.goto(path)
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    page.get_by_label("Email").fill(editor.email)
    page.get_by_label("Password").fill(editor.password)
    page.get_by_role("button", name="Log in").click()
    # a predicate, not a glob: "**/social" would match the login page's "?next=/social"
    page.wait_for_url(lambda url: urlsplit(url).path == path)


def test_an_editor_previews_a_digest_queues_it_and_watches_it_go_out(
    page: Page,
    editor: EditorLogin,
    settings: Settings,
    sessions: sessionmaker[Session],
    smtp_server: SmtpSink,
    worker: WorkerProcess,
    snap: Callable[[str], None],
) -> None:
    seed(settings, sessions, subscribers=25)
    log_in(page, editor, "/newsletters/la-matinale/preview")
    expect(page.get_by_role("heading", name="Preview: La Matinale")).to_be_visible()
    for width in ("desktop", "mobile"):
        frame = page.frame_locator(f"iframe.{width}")
        expect(frame.get_by_role("heading", name=TITLE)).to_be_visible()
    expect(page.locator("#size")).to_contain_text("of 102 KB")
    snap("preview")
    page.set_viewport_size({"width": 375, "height": 800})
    snap("preview-phone")
    page.set_viewport_size({"width": 1280, "height": 900})

    page.get_by_role("button", name="Queue for every subscriber").click()
    page.wait_for_url(re.compile(r"/digests/\d+$"))
    expect(page.locator('[data-field="percent"]')).to_have_text("100%", timeout=60_000)
    expect(page.locator('[data-field="status"]')).to_have_text("sent")
    expect(page.locator('[data-field="sent"]')).to_have_text("25")
    expect(page.get_by_role("button", name="Pause")).to_be_disabled()
    snap("progress")
    wait_until(lambda: len(smtp_server.messages) == 25, why=worker.log)

    page.get_by_role("link", name="Dashboard").click()
    latest = page.get_by_role("region", name="Latest digests")
    expect(latest.get_by_role("listitem").first).to_contain_text("la-matinale sent")
    snap("dashboard")


def test_the_progress_page_shows_what_delays_a_digest_as_it_happens(
    page: Page,
    editor: EditorLogin,
    settings: Settings,
    sessions: sessionmaker[Session],
    snap: Callable[[str], None],
) -> None:
    seed(settings, sessions, subscribers=3)
    log_in(page, editor, "/newsletters/la-matinale/preview")
    page.get_by_role("button", name="Queue for every subscriber").click()  # no worker runs
    page.wait_for_url(re.compile(r"/digests/\d+$"))
    digest_id = int(page.url.rsplit("/", 1)[1])
    happened = page.get_by_role("region", name="What happened")
    expect(happened).to_contain_text("Nothing unusual.")

    # recorded by a worker while the editor watches: the page's polling shows it, as text
    message = "3 messages deferred (421 <busy>); attempt 2 of 9 in 10 s"
    with sessions.begin() as session:
        digests.record_event(session, digest_id, message)
    expect(happened.get_by_role("listitem")).to_have_text(re.compile(re.escape(message)))
    expect(happened).not_to_contain_text("Nothing unusual.")
    snap("event")


def test_an_x_post_over_the_limit_cannot_be_saved_until_it_fits(
    page: Page, calendar: Seeded, sessions: sessionmaker[Session], snap: Callable[[str], None]
) -> None:
    card = open_editor(page, calendar.x_post)
    text, counter = card.get_by_label("Text"), card.locator(".counter")
    save = card.get_by_role("button", name="Save text")

    text.fill("Trop long :" + " le budget" * 30)  # 311 characters
    expect(counter).to_have_class(re.compile(r"\bover\b"))
    expect(counter).to_contain_text("311 / 280")
    expect(text).to_have_attribute("aria-invalid", "true")
    expect(save).to_be_disabled()
    snap("over-the-limit")

    fixed = "Budget 2027 : l’Assemblée vote, de justesse. https://www.lequotidien.example/b"
    text.fill(fixed)
    expect(counter).not_to_have_class(re.compile(r"\bover\b"))
    expect(text).to_have_attribute("aria-invalid", "false")
    expect(save).to_be_enabled()
    save.click()
    expect(page.locator(f'article[data-post="{calendar.x_post}"] .post-text')).to_have_text(fixed)
    snap("saved")
    with sessions.begin() as session:
        post = social_posts.get_post(session, calendar.x_post)
        assert post is not None
        assert post.text == fixed


def test_an_editor_reschedules_a_post_in_its_accounts_time_zone(
    page: Page, calendar: Seeded, sessions: sessionmaker[Session], snap: Callable[[str], None]
) -> None:
    card = open_editor(page, calendar.linkedin_post)
    card.get_by_label("New time (Europe/Paris)").fill("2030-07-14T18:30")
    expect(card.locator(".offset")).to_have_text("+02:00")  # summer time, whatever today is
    snap("rescheduling")
    card.get_by_role("button", name="Reschedule").click()

    moved = page.locator(f'article[data-post="{calendar.linkedin_post}"]')
    expect(moved.locator("time")).to_have_text("18:30")
    row = page.get_by_role("row").filter(has=moved)
    expect(row.get_by_role("rowheader")).to_have_text("Sun 14 Jul 2030")
    snap("rescheduled")
    page.set_viewport_size({"width": 375, "height": 800})
    snap("rescheduled-phone")
    with sessions.begin() as session:
        post = social_posts.get_post(session, calendar.linkedin_post)
        assert post is not None
        assert post.scheduled_at == datetime(2030, 7, 14, 16, 30, tzinfo=UTC)
