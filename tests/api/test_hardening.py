"""Regression tests for issue 10's probe: bounded parsing, 64-bit integers, the documented
response keys, 405 Allow headers, the browser rules (Host, Origin, JSON-only state changes),
placeholder secrets, the uniform webhook answer and MCP tool listing."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import pytest
from fastapi.testclient import TestClient
from mcp.client import Client

from flows.pipeline.loader import MAX_DEPTH, YamlSyntaxError, load_plain_yaml, load_yaml
from mimir_api.api.app import UnsafeConfiguration, create_app
from mimir_api.core.config import Settings
from mimir_api.core.security import LOCAL_OPERATOR
from mimir_api.db.engine import make_engine, migrate
from mimir_api.mcp.server import build_mcp_server
from mimir_api.services.catalog import build_registry
from mimir_api.services.registry import split_docstring

API = "/api/v1"
BILLION_LAUGHS = 'a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + "".join(
    f"a{i}: &a{i} [{','.join([f'*a{i - 1}'] * 9)}]\n" for i in range(1, 7)
)
TURTLE = """@prefix : <http://example.org/t#> .
@prefix owl: <http://www.w3.org/2002/07/owl#> .
<http://example.org/t> a owl:Ontology .
:Thing1 a owl:Class .
"""


def assert_problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem: dict[str, Any] = response.json()
    assert problem["status"] == status and problem["detail"]
    return problem


def validate(client: TestClient, text: str) -> dict[str, Any]:
    response = client.post(f"{API}/pipelines/validate", json={"yaml": text})
    assert response.status_code == 200, response.text
    report: dict[str, Any] = response.json()
    assert report["valid"] is False
    return report


# 1. YAML anchors and aliases -------------------------------------------------------------


def test_alias_bomb_is_refused_at_once_with_its_position(client: TestClient) -> None:
    assert len(BILLION_LAUGHS) < 400
    started = time.monotonic()
    report = validate(client, BILLION_LAUGHS)
    assert time.monotonic() - started < 5  # the expansion took 12 s and 1.4 GB before
    [issue] = report["issues"]
    assert "anchors (&a0) are not allowed" in issue["message"]
    assert (issue["line"], issue["column"]) == (1, 5)


@pytest.mark.parametrize(
    ("text", "position", "message"),
    [
        ("a: &x [*x]\n", (1, 4), "anchors (&x)"),
        ("name: x\nsteps:\n  - *undefined\n", (3, 5), "aliases (*undefined)"),
    ],
)
def test_cycles_and_aliases_are_located_errors(
    client: TestClient, text: str, position: tuple[int, int], message: str
) -> None:
    [issue] = validate(client, text)["issues"]
    assert message in issue["message"]
    assert (issue["line"], issue["column"]) == position


def test_saving_an_aliased_pipeline_is_a_422_naming_line_and_column(client: TestClient) -> None:
    assert client.post(f"{API}/projects", json={"name": "proj"}).status_code == 201
    response = client.put(f"{API}/projects/proj/pipelines/pipe", json={"yaml": "a: &x [*x]\n"})
    problem = assert_problem(response, 422)
    assert problem["errors"][0]["line"] == 1 and problem["errors"][0]["column"] == 4


def test_plain_yaml_entry_point_for_test_cases_is_bounded_too() -> None:
    with pytest.raises(YamlSyntaxError) as refused:
        load_plain_yaml("cases:\n  - &c {name: a}\n  - *c\n")
    assert refused.value.line == 2 and "anchors" in refused.value.message
    with pytest.raises(YamlSyntaxError, match="duplicate key 'a'"):
        load_plain_yaml("a: 1\na: 2\n")
    assert load_plain_yaml("cases:\n  - name: a\n") == {"cases": [{"name": "a"}]}


def test_cli_lint_and_test_refuse_aliases(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from mimir_api.cli_pipeline import pipeline_app

    pipeline = tmp_path / "p.yaml"
    pipeline.write_text("a: &x [*x]\n")
    result = CliRunner().invoke(pipeline_app, ["lint", str(pipeline)])
    assert result.exit_code == 1
    assert "anchors (&x) are not allowed" in result.output
    assert ":1:4:" in result.output


# 2. Nesting, control characters, 64-bit integers ----------------------------------------


def test_deep_json_bodies_are_400_or_422_never_500(client: TestClient) -> None:
    for depth in (5_000, 100_000):
        body = '{"name": "x", "labels": ' + "[" * depth + "]" * depth + "}"
        response = client.post(
            f"{API}/projects", content=body, headers={"content-type": "application/json"}
        )
        assert response.status_code in (400, 422), response.text
        assert_problem(response, response.status_code)
    moderately_deep = {"yaml": "x", "extra": json.loads("[" * 500 + "]" * 500)}
    problem = assert_problem(client.post(f"{API}/pipelines/validate", json=moderately_deep), 422)
    assert "nested more than" in problem["detail"]


@pytest.mark.parametrize("style", ["block", "flow"])
def test_deep_yaml_is_a_located_error(client: TestClient, style: str) -> None:
    if style == "flow":  # the probe's 20k levels
        text = "a: " + "[" * 20_000 + "]" * 20_000 + "\n"
    else:  # indentation grows with depth; 600 levels fit the 256 KiB YAML limit
        depth = 600
        text = "".join(" " * i + f"k{i}:\n" for i in range(depth)) + " " * depth + "k: 1\n"
    [issue] = validate(client, text)["issues"]
    assert f"nested more than {MAX_DEPTH} levels" in issue["message"]
    assert issue["line"] is not None and issue["column"] is not None


def test_c1_control_characters_are_a_located_error(client: TestClient) -> None:
    [issue] = validate(client, "name: ok\na: \u0099\n")["issues"]
    assert "control character" in issue["message"]
    assert (issue["line"], issue["column"]) == (2, 4)


@pytest.mark.parametrize(
    "text", ["a: !!python/object:os.system x\n", "a: 2001-13-45\n", "a: !!binary 'not base64'\n"]
)
def test_unconstructable_scalars_are_located_errors(text: str) -> None:
    with pytest.raises(YamlSyntaxError) as refused:
        load_yaml(text)
    assert refused.value.line == 1 and refused.value.column == 4


@pytest.fixture
def ontology(client: TestClient) -> str:
    assert client.post(f"{API}/projects", json={"name": "big"}).status_code == 201
    created = client.post(
        f"{API}/projects/big/ontologies", json={"name": "tiny", "content": TURTLE}
    )
    assert created.status_code == 201, created.text
    return f"{API}/projects/big/ontologies/tiny"


@pytest.mark.parametrize(
    ("method", "tail", "field"),
    [
        ("POST", "/proposals/3264035618018007449600/reject", "path.version"),
        ("POST", "/proposals/3264035618018007449600/accept", "path.version"),
        ("GET", "/export?version=751324291887132615639040", "query.version"),
        ("GET", "/export?version=-9223372036854775809", "query.version"),
    ],
)
def test_integers_beyond_64_bits_are_422(
    client: TestClient, ontology: str, method: str, tail: str, field: str
) -> None:
    response = client.request(method, ontology + tail, json={} if method == "POST" else None)
    problem = assert_problem(response, 422)
    assert problem["field"] == field
    assert "out of range" in problem["detail"]


def test_integers_beyond_64_bits_in_bodies_and_pipeline_versions_are_422(
    client: TestClient, ontology: str
) -> None:
    body = {"extracted": TURTLE, "base_version": 2**70}
    problem = assert_problem(client.post(ontology + "/proposals", json=body), 422)
    assert problem["field"] == "body.base_version"
    response = client.get(f"{API}/projects/big/pipelines/pipe/versions/99999999999999999999999")
    assert assert_problem(response, 422)["field"] == "path.version"
    # the largest 64-bit integer itself is in range: an ordinary 404/422 from the service
    fine = client.get(ontology + f"/export?version={2**63 - 1}")
    assert fine.status_code in (404, 422) and "out of range" not in fine.text


# 4. Documented keys and Allow headers ----------------------------------------------------


def test_pipeline_schema_key_matches_the_openapi_document(client: TestClient) -> None:
    body = client.get(f"{API}/pipelines/schema").json()
    assert set(body) == {"schema"} and body["schema"]["type"] == "object"
    spec = client.get(f"{API}/openapi.json").json()
    response = spec["paths"]["/api/v1/pipelines/schema"]["get"]["responses"]["200"]
    ref = response["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    assert set(spec["components"]["schemas"][ref]["properties"]) == {"schema"}


def test_405_allow_lists_every_method_of_the_path(client: TestClient) -> None:
    response = client.put(f"{API}/projects/some-project", json={})
    assert_problem(response, 405)
    assert set(response.headers["allow"].split(", ")) == {"GET", "HEAD", "PATCH", "DELETE"}
    response = client.delete(f"{API}/projects")
    assert set(response.headers["allow"].split(", ")) == {"GET", "HEAD", "POST"}
    spec = client.get(f"{API}/openapi.json").json()
    templates = {
        path: re.compile("^" + re.sub(r"{[^}]+}", "[^/]+", path) + "$") for path in spec["paths"]
    }
    for path, operations in spec["paths"].items():
        documented = {method.upper() for method in operations}
        probe = path.replace("{", "").replace("}", "")
        # A method another template serves at the same URL (GET …/models/explain is
        # get_model of a model named "explain") is routed there, rightly: not a 405 case.
        elsewhere = {
            method.upper()
            for other, pattern in templates.items()
            if other != path and pattern.match(probe)
            for method in spec["paths"][other]
        }
        unused = {"GET", "POST", "PUT", "PATCH", "DELETE"} - documented - elsewhere
        if not unused:
            continue
        response = client.request(
            sorted(unused)[0], probe, headers={"content-type": "application/json"}
        )
        assert response.status_code == 405, (path, response.text)
        allowed = set(response.headers["allow"].split(", ")) - {"HEAD"}
        assert allowed == documented | elsewhere, path


# 8. The browser rules --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        ("/projects/proj/pipelines/pipe/runs", {"content-type": "text/plain"}),
        ("/projects/proj/pipelines/pipe/runs", {}),
        ("/system/selfcheck", {"content-type": "application/x-www-form-urlencoded"}),
        (
            "/projects/proj/pipelines/pipe/webhook",
            {"content-type": "multipart/form-data; boundary=x"},
        ),
        ("/projects", {"content-type": "text/plain"}),
    ],
)
def test_state_changes_need_json_content_type(
    client: TestClient, path: str, headers: dict[str, str]
) -> None:
    body = '{"name": "from-a-form"}' if path == "/projects" else None
    problem = assert_problem(client.post(API + path, content=body, headers=headers), 415)
    assert problem["field"] == "header.content-type"
    assert client.get(f"{API}/projects").json()["items"] == []


def test_bodyless_json_post_still_works(client: TestClient) -> None:
    assert client.post(f"{API}/projects", json={"name": "proj"}).status_code == 201
    response = client.post(
        f"{API}/projects/proj/clone", headers={"content-type": "application/json"}
    )
    assert response.status_code == 422 and "new_name" in response.text  # reached the service


def test_foreign_host_is_421_on_rest_mcp_and_ui(client: TestClient) -> None:
    headers = {"Host": "evil.example", "content-type": "application/json"}
    problem = assert_problem(
        client.post(f"{API}/projects", json={"name": "x"}, headers=headers), 421
    )
    assert "MIMIR_ALLOWED_HOSTS" in problem["detail"]
    assert client.post("/mcp", content="{}", headers=headers).status_code == 421
    assert client.get("/", headers=headers).status_code == 421
    assert client.get(f"{API}/projects").json()["items"] == []
    # probes are exempt; loopback names and the port do not matter
    assert client.get(f"{API}/health", headers={"Host": "10.1.2.3:8080"}).status_code == 200
    for host in ("localhost:8080", "127.0.0.1", "[::1]:9"):
        assert client.get(f"{API}/projects", headers={"Host": host}).status_code == 200


def test_allowed_hosts_setting(make_client: Callable[..., TestClient]) -> None:
    client = make_client(allowed_hosts="mimir.example.com, Other.Example")
    for host in ("mimir.example.com", "other.example:443", "localhost"):
        assert client.get(f"{API}/projects", headers={"Host": host}).status_code == 200
    assert client.get(f"{API}/projects", headers={"Host": "evil.example"}).status_code == 421
    anything = make_client(allowed_hosts="*")
    assert anything.get(f"{API}/projects", headers={"Host": "evil.example"}).status_code == 200


def test_foreign_origin_is_403_and_no_cors_by_default(client: TestClient) -> None:
    foreign = {"Origin": "http://evil.example"}
    problem = assert_problem(
        client.post(f"{API}/projects", json={"name": "x"}, headers=foreign), 403
    )
    assert problem["field"] == "header.origin"
    assert client.get(f"{API}/projects", headers={"Origin": "null"}).status_code == 403
    assert client.post("/mcp", json={}, headers=foreign).status_code == 403
    same = client.post(
        f"{API}/projects", json={"name": "same-origin"}, headers={"Origin": "http://127.0.0.1"}
    )
    assert same.status_code == 201
    assert "access-control-allow-origin" not in same.headers
    preflight = client.options(
        f"{API}/projects",
        headers={"Origin": "http://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert "access-control-allow-origin" not in preflight.headers


def test_cors_only_for_configured_origins(make_client: Callable[..., TestClient]) -> None:
    client = make_client(cors_origins="https://app.example.com")
    allowed = {"Origin": "https://app.example.com"}
    response = client.get(f"{API}/projects", headers=allowed)
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "https://app.example.com"
    preflight = client.options(
        f"{API}/projects", headers={**allowed, "Access-Control-Request-Method": "POST"}
    )
    assert preflight.status_code == 200
    assert (
        client.get(f"{API}/projects", headers={"Origin": "https://evil.example"}).status_code == 403
    )
    with pytest.raises(ValueError, match="not an origin"):
        Settings(cors_origins="https://app.example.com/path")


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"bootstrap_token": "change-me-long-random-admin-token-abcdefgh"},
            "MIMIR_BOOTSTRAP_TOKEN",
        ),
        (
            {"database_url": "postgresql+psycopg://postgres:change-me-postgres@db:5432/mimir"},
            "MIMIR_DATABASE_URL",
        ),
        ({"bootstrap_token": "short-token-1234"}, "shorter than 32 characters"),
    ],
)
def test_placeholder_and_short_secrets_refuse_to_start(
    tmp_path: Path, overrides: dict[str, Any], message: str
) -> None:
    settings = Settings(home=tmp_path / "h", **overrides)
    with pytest.raises(UnsafeConfiguration, match=message) as refused:
        create_app(settings)
    assert "change-me-postgres" not in str(refused.value)  # the secret is not echoed


def test_placeholder_s3_secret_in_the_environment_refuses_to_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "change-me-s3-secret")
    with pytest.raises(UnsafeConfiguration, match="AWS_SECRET_ACCESS_KEY"):
        create_app(Settings(home=tmp_path / "h"))


# 9. The public webhook -------------------------------------------------------------------


def test_webhook_answers_the_same_for_every_failure(client: TestClient) -> None:
    assert client.post(f"{API}/projects", json={"name": "proj"}).status_code == 201
    answers = []
    for path in ("/hooks/nope/pipe", "/hooks/proj/missing-pipeline"):
        response = client.post(API + path, json={"secret": "whk_guess"})
        problem = assert_problem(response, 401)
        answers.append((problem["title"], problem["detail"], problem["field"], problem["type"]))
    assert answers[0] == answers[1]


# 13. MCP tools/list and titles -----------------------------------------------------------


def _mcp_pages(tmp_path: Path, **overrides: Any) -> list[Any]:
    settings = Settings(home=tmp_path / "h", **overrides)
    engine = make_engine(settings.resolved_database_url)
    migrate(engine)
    server = build_mcp_server(
        build_registry(), settings, engine, actor_for=lambda _c: LOCAL_OPERATOR
    )

    async def pages() -> list[Any]:
        found, cursor = [], None
        async with Client(server) as mcp_client:
            while True:
                result = await mcp_client.list_tools(cursor=cursor)
                found.append(result)
                cursor = result.next_cursor
                if cursor is None:
                    return found

    return anyio.run(pages)


def test_tools_list_is_one_page_by_default_and_cursors_still_work(tmp_path: Path) -> None:
    [page] = _mcp_pages(tmp_path)
    assert len(page.tools) == len(build_registry()) and page.next_cursor is None
    paged = _mcp_pages(tmp_path, mcp_page_size=7)
    assert len(paged) > 1
    assert [t.name for p in paged for t in p.tools] == [t.name for t in page.tools]


def test_tool_titles_are_whole_sentences(tmp_path: Path) -> None:
    [page] = _mcp_pages(tmp_path)
    for tool in page.tools:
        title = tool.title or ""
        assert title and title[0].isupper() and len(title) <= 200, tool.name
        assert title.count("(") == title.count(")"), title
        assert not title.endswith((",", ";", ":", " and", " or", " the", " a")), title
        description = tool.description or ""
        assert description.startswith(title), (title, description)
        assert "\n" not in description.split("\n\n")[0], description  # wrapped lines joined


def test_docstring_split() -> None:
    doc = """Save a pipeline (a new version, e.g. after an edit) and register its
    deployment. Runs start later.

    Second paragraph
    wraps here.
    - item one
    - item two
    """
    title, description = split_docstring(doc)
    assert (
        title == "Save a pipeline (a new version, e.g. after an edit) and register its deployment."
    )
    assert description == (
        "Save a pipeline (a new version, e.g. after an edit) and register its deployment. "
        "Runs start later.\n\nSecond paragraph wraps here.\n- item one\n- item two"
    )
