"""The UI's shape without a browser: at most seven primitive components, each documented;
pages build on them; assets come from npm through the lockfile, not a CDN."""

from __future__ import annotations

import json
import re
from pathlib import Path

UI = Path(__file__).resolve().parents[2] / "ui"
COMPONENTS = sorted((UI / "components").glob("*.js"))


def test_at_most_seven_primitive_components_each_documented() -> None:
    assert 1 <= len(COMPONENTS) <= 7, [c.name for c in COMPONENTS]
    readme = (UI / "README.md").read_text()
    for component in COMPONENTS:
        assert f"components/{component.name}" in readme, f"{component.name} not in ui/README.md"


def test_pages_compose_components_and_define_none() -> None:
    """Pages import components; only components/ may define UI primitives (custom elements,
    <dialog>, <svg> builders), so the count above means something."""
    pages = sorted((UI / "pages").glob("*.js"))
    assert pages
    used = set()
    for page in pages:
        text = page.read_text()
        assert "customElements.define" not in text, page.name
        assert "createElementNS" not in text, f"{page.name} draws SVG itself"
        assert "showModal" not in text, f"{page.name} opens a dialog itself"
        used |= set(re.findall(r"\.\./components/(\w+\.js)", text))
    assert used | {"shell.js"} >= {c.name for c in COMPONENTS}, "a component no page uses"


def test_no_cdn_and_npm_assets_come_from_the_lockfile() -> None:
    for path in [
        *UI.glob("*.html"),
        *UI.glob("*.js"),
        *UI.glob("*.css"),
        *UI.rglob("pages/*.js"),
        *UI.rglob("components/*.js"),
        *UI.rglob("lib/*.js"),
    ]:
        text = path.read_text()
        assert not re.search(r"(src|href)=[\"']https?://", text), path
        assert not re.search(r"import[^;]+from\s+[\"']https?://", text), path
    lock = json.loads((UI / "package-lock.json").read_text())
    assert "node_modules/swagger-ui-dist" in lock["packages"]
    assert "node_modules/axe-core" in lock["packages"]
    assert (UI / "node_modules" / "swagger-ui-dist" / "swagger-ui-bundle.js").is_file(), (
        "run scripts/install.sh (npm ci in ui/)"
    )


def test_readme_screenshots_exist() -> None:
    readme = (UI.parent / "README.md").read_text()
    shots = re.findall(r"\((docs/screenshots/[\w-]+\.png)\)", readme)
    assert len(shots) >= 4
    for shot in shots:
        assert (UI.parent / shot).stat().st_size > 10_000, shot
