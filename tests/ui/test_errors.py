"""Errors reach the user as the API's problem documents say them — a 403 for a read-only
token, a YAML error with its line — never as a blank page or a console error."""

from __future__ import annotations

import uuid

import httpx
from playwright.sync_api import Page, expect

from tests.conftest import Platform
from tests.ui.conftest import Watch, check_page, sign_in


def test_read_only_token_sees_the_403_problem(platform: Platform, ui: tuple[Page, Watch]) -> None:
    page, watch = ui
    sign_in(page, platform.base_url, platform.read_token)
    page.get_by_role("button", name="New project").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Name").fill(f"ro-{uuid.uuid4().hex[:8]}")
    dialog.get_by_role("button", name="Create project").click()
    toast = page.locator("#toasts .toast.error")
    expect(toast).to_contain_text("403")
    expect(toast).to_contain_text("write")  # the problem's detail names the missing scope
    check_page(page, "error-403")
    assert ("/api/v1/projects", 403) in watch.api_statuses


def test_bad_yaml_line_is_shown_on_save(platform: Platform, ui: tuple[Page, Watch]) -> None:
    page, watch = ui
    project = f"ui-err-{uuid.uuid4().hex[:8]}"
    created = httpx.post(
        f"{platform.api}/projects", json={"name": project}, headers=platform.headers()
    )
    assert created.status_code == 201, created.text
    sign_in(page, platform.base_url, platform.token)
    page.goto(f"{platform.base_url}/#/projects/{project}/pipelines/broken")
    editor = page.get_by_label("Pipeline YAML")
    editor.fill("name: broken\ntype: ingestion\nsteps:\n  - name: a: b\n    action: context.set\n")
    page.get_by_role("button", name="Save", exact=True).click()
    problem = page.locator(".card .problem")
    expect(problem).to_contain_text("line 4, column 12")
    expect(problem).to_contain_text("mapping values are not allowed here")
    expect(page.locator(".gutter .line.bad")).to_have_text(["4"])
    check_page(page, "error-yaml")
    listed = httpx.get(f"{platform.api}/projects/{project}/pipelines", headers=platform.headers())
    assert listed.json()["items"] == []  # nothing was saved
    assert any(status == 422 for path, status in watch.api_statuses if path.endswith("/broken"))


def test_unknown_page_and_missing_project_are_explained(
    platform: Platform, ui: tuple[Page, Watch]
) -> None:
    page, _ = ui
    sign_in(page, platform.base_url, platform.token)
    page.goto(f"{platform.base_url}/#/projects/no-such-project")
    expect(page.get_by_role("heading", name="This page could not be shown")).to_be_visible()
    expect(page.locator("main .problem")).to_contain_text("404")
    page.goto(f"{platform.base_url}/#/nowhere/at/all")
    expect(page.get_by_role("heading", name="Page not found")).to_be_visible()
