"""API docs and the open-mode banner in a browser that cannot reach the internet: Swagger UI
is served from ui/node_modules (swagger-ui-dist), not a CDN."""

from __future__ import annotations

from playwright.sync_api import Browser, expect

from tests.ui.conftest import SCREENSHOTS, OpenServer, assert_fits_narrow, check_page, open_page


def test_api_docs_work_with_only_local_hosts(open_server: OpenServer, browser: Browser) -> None:
    page, watch = open_page(browser)
    page.goto(f"{open_server.base_url}/api/v1/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Mimir AIP", timeout=30_000)
    expect(page.locator(".opblock-tag-section").first).to_be_visible()
    expect(page.locator("#operations-projects-create_project")).to_be_attached()
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "api-docs.png"))
    page.context.close()
    assert not watch.blocked, f"the docs tried to reach other hosts: {watch.blocked}"
    watch.assert_clean()


def test_open_mode_shows_a_banner_and_needs_no_sign_in(
    open_server: OpenServer, browser: Browser
) -> None:
    page, watch = open_page(browser)
    page.goto(open_server.base_url + "/")
    expect(page.get_by_role("note")).to_contain_text("Open mode")
    expect(page.get_by_role("heading", name="Projects", exact=True)).to_be_visible()
    check_page(page, "open-mode")
    page.context.close()
    watch.assert_clean()


def test_narrow_screen_has_a_menu_and_no_sideways_scroll(
    open_server: OpenServer, browser: Browser
) -> None:
    page, watch = open_page(browser, width=390, height=844)
    page.goto(open_server.base_url + "/#/system")
    expect(page.get_by_role("heading", name="System", exact=True)).to_be_visible()
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Tokens")).to_be_hidden()
    page.get_by_role("button", name="Menu").click()
    expect(nav.get_by_role("link", name="Tokens")).to_be_visible()
    check_page(page, "narrow-system")
    assert_fits_narrow(page)
    page.context.close()
    watch.assert_clean()
