"""Browser fixtures for the web UI tests: Debian's chromium driven by Playwright (never a
downloaded browser), every request to a non-local host blocked, console errors, page errors,
failed asset loads and state-changing API requests without a JSON Content-Type collected and
failed on, and `check_page` (axe-core + a screenshot) for every page the tests visit.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, Request, Response, sync_playwright

from tests.utils.servers import VENV_BIN, free_port, stop_process, wait_http

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"  # Debian's package; Playwright never downloads a browser
AXE = REPO / "ui" / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = Path(__file__).parent / "screenshots"
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}
STATE_CHANGING = {"POST", "PUT", "PATCH", "DELETE"}


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Debian's chromium (scripts/ensure-browser.sh installs it); fails when it is missing."""
    assert Path(CHROMIUM).is_file(), f"{CHROMIUM} is missing: run scripts/ensure-browser.sh"
    assert AXE.is_file(), f"{AXE} is missing: run scripts/install.sh (npm ci in ui/)"
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        launched.close()


@dataclass
class Watch:
    """What went wrong in the page, collected while a test drives it."""

    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    failed_assets: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)
    untyped_writes: list[str] = field(default_factory=list)
    api_statuses: list[tuple[str, int]] = field(default_factory=list)

    def on_console(self, message: ConsoleMessage) -> None:
        # Chromium logs every non-2xx fetch as "Failed to load resource"; API answers the UI
        # shows to the user (problem documents) are checked through api_statuses instead.
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            self.console_errors.append(message.text)

    def on_request(self, request: Request) -> None:
        if request.method in STATE_CHANGING and "/api/" in request.url:
            content_type = (request.headers.get("content-type") or "").split(";")[0]
            if content_type not in {"application/json", "application/sparql-query"}:
                self.untyped_writes.append(f"{request.method} {request.url} ({content_type!r})")

    def on_response(self, response: Response) -> None:
        path = urlparse(response.url).path
        if path.startswith("/api/v1/") and not path.startswith("/api/v1/docs"):
            self.api_statuses.append((path, response.status))
        elif response.status >= 400:
            self.failed_assets.append(f"{response.status} {response.url}")

    def assert_clean(self) -> None:
        assert not self.page_errors, self.page_errors
        assert not self.console_errors, self.console_errors
        assert not self.failed_assets, self.failed_assets
        assert not self.blocked, f"the page tried to reach other hosts: {self.blocked}"
        assert not self.untyped_writes, self.untyped_writes
        # /ready answers 503 by design when Prefect is down (the open-mode server has none)
        server_errors = [s for s in self.api_statuses if s[1] >= 500 and s[0] != "/api/v1/ready"]
        assert not server_errors, server_errors


def open_page(browser: Browser, width: int = 1280, height: int = 800) -> tuple[Page, Watch]:
    """A fresh context (own sessionStorage) whose page may only talk to local hosts."""
    context = browser.new_context(
        viewport={"width": width, "height": height}, accept_downloads=True
    )
    watch = Watch()

    def only_local(route: Any) -> None:
        host = urlparse(route.request.url).hostname or ""
        if route.request.url.startswith(("data:", "blob:")) or host in LOCAL_HOSTS:
            route.continue_()
        else:
            watch.blocked.append(route.request.url)
            route.abort()

    context.route("**/*", only_local)
    page = context.new_page()
    page.on("console", watch.on_console)
    page.on("pageerror", lambda error: watch.page_errors.append(str(error)))
    page.on("request", watch.on_request)
    page.on("response", watch.on_response)
    page.set_default_timeout(30_000)
    return page, watch


@pytest.fixture
def ui(browser: Browser) -> Iterator[tuple[Page, Watch]]:
    """A 1280x800 page; the test fails if the page logged errors or broke a rule above."""
    page, watch = open_page(browser)
    yield page, watch
    page.context.close()
    watch.assert_clean()


def settle(page: Page) -> None:
    """Wait until the shell has rendered the page (main is no longer busy)."""
    page.wait_for_selector("main:not([aria-busy])")
    page.wait_for_load_state("networkidle")


def check_page(page: Page, name: str, full_page: bool = True) -> None:
    """axe-core on the page as it is now (no serious or critical violations) + a screenshot
    (of the whole page, or of the window for a README picture of a long page)."""
    settle(page)
    shown = page.inner_text("main")
    assert "[object " not in shown, f"{name} shows a stringified object: {shown[:2000]}"
    page.add_script_tag(path=str(AXE))
    results = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    bad = [
        {
            "id": v["id"],
            "impact": v["impact"],
            "help": v["help"],
            "nodes": [n["target"] for n in v["nodes"]][:5],
        }
        for v in results["violations"]
        if v["impact"] in {"serious", "critical"}
    ]
    assert not bad, f"axe-core on {name}: {json.dumps(bad, indent=1)}"
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=full_page)


def assert_fits_narrow(page: Page) -> None:
    """No sideways scroll at the page's (narrow) width; names what sticks out when it fails."""
    wide = page.evaluate(
        """() => {
          const width = window.innerWidth;
          if (document.documentElement.scrollWidth <= width) return [];
          return [...document.querySelectorAll("body *")]
            .filter((el) => el.getBoundingClientRect().right > width + 0.5)
            .filter((el) => !el.closest(".table-scroll, pre, .editor-body"))
            .slice(0, 8)
            .map((el) => `${el.tagName.toLowerCase()}.${el.className} (${Math.round(el.getBoundingClientRect().right)}px)`);
        }"""
    )
    width = page.evaluate("window.innerWidth")
    scroll = page.evaluate("document.documentElement.scrollWidth")
    assert scroll <= width, f"{page.url} is {scroll}px wide at {width}px: {wide}"


def sign_in(page: Page, base_url: str, token: str) -> None:
    page.goto(f"{base_url}/#/signin")
    settle(page)
    page.get_by_label("API token").fill(token)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.get_by_role("heading", name="Projects", exact=True).wait_for()


@dataclass
class OpenServer:
    """The API app in open mode (no tokens) on loopback, without Prefect."""

    base_url: str
    home: Path


@pytest.fixture(scope="module")
def open_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OpenServer]:
    """uvicorn serving create_app in open mode: enough for the banner and the offline docs."""
    home = tmp_path_factory.mktemp("ui-open-home")
    port = free_port()
    env = dict(os.environ)
    env.update(
        MIMIR_HOME=str(home),
        PREFECT_API_URL="http://127.0.0.1:9/api",
        DO_NOT_TRACK="1",
        MIMIR_HOST="127.0.0.1",
        MIMIR_PORT=str(port),
    )
    process = subprocess.Popen(
        [
            str(VENV_BIN / "uvicorn"),
            "--factory",
            "mimir_api.api.app:create_app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        env=env,
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{base_url}/api/v1/health", timeout=60, process=process)
        yield OpenServer(base_url=base_url, home=home)
    finally:
        stop_process(process, signals=1, grace=20)
