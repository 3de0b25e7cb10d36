"""TEST INFRASTRUCTURE: an emulated Kubernetes API server (kmock) on a local port.

`kmock.KubernetesEmulator` stores objects and serves create/get/list/watch/patch/delete. This
thin subclass adds what a real API server does and the Prefect worker, its kopf-based observer
or kubectl rely on:

- `metadata.name` from `metadata.generateName` (Prefect's Job template uses generateName),
  plus `uid`, `creationTimestamp` and `resourceVersion` on create;
- `kind` and `apiVersion` on list responses (kubectl and typed clients need them);
- `labelSelector` on list and watch (the observer selects `prefect.io/flow-run-id`);
- `pods/{name}/log`, served from what the test kubelet captured;
- an audit log: which identity (bearer token) called which verb on which resource, so a test
  can check the worker's calls against the Role in deployments/.
"""

from __future__ import annotations

import asyncio
import datetime
import re
import secrets
import threading
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp.web
import attrs
import kmock
import yaml

_NAME_SUFFIX_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"  # the API server's generateName alphabet


def now_rfc3339() -> str:
    """Current UTC time the way Kubernetes writes timestamps."""
    return datetime.datetime.now(tz=datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def random_suffix(length: int = 5) -> str:
    """A random name suffix, as the API server appends to `generateName`."""
    return "".join(secrets.choice(_NAME_SUFFIX_ALPHABET) for _ in range(length))


@dataclass(frozen=True)
class AuditRecord:
    """One resource request to the emulated API, in RBAC terms."""

    identity: str
    verb: str
    api_group: str
    resource: str  # plural, or "plural/subresource"
    namespace: str | None
    name: str | None


_SELECTOR_TERM = re.compile(
    r"^\s*(?P<neg>!)?\s*(?P<key>[A-Za-z0-9_./-]+)\s*"
    r"(?:(?P<op>==|=|!=)\s*(?P<value>[A-Za-z0-9_.-]*)"
    r"|\s+(?P<setop>in|notin)\s*\((?P<values>[^)]*)\))?\s*$"
)


def _split_selector(selector: str) -> list[str]:
    terms, depth, current = [], 0, ""
    for char in selector:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            terms.append(current)
            current = ""
        else:
            current += char
    if current.strip():
        terms.append(current)
    return terms


def label_selector_matches(selector: str | None, obj: Mapping[str, Any]) -> bool:
    """Whether an object's labels match a Kubernetes label selector string."""
    if not selector:
        return True
    labels = (obj.get("metadata") or {}).get("labels") or {}
    for term in _split_selector(selector):
        match = _SELECTOR_TERM.match(term)
        if match is None:
            raise ValueError(f"unsupported label selector term: {term!r}")
        key = match["key"]
        if match["neg"]:
            ok = key not in labels
        elif match["op"] in ("=", "=="):
            ok = labels.get(key) == match["value"]
        elif match["op"] == "!=":
            ok = labels.get(key) != match["value"]
        elif match["setop"]:
            values = {v.strip() for v in match["values"].split(",") if v.strip()}
            ok = (labels.get(key) in values) == (match["setop"] == "in")
        else:
            ok = key in labels
        if not ok:
            return False
    return True


@attrs.define(kw_only=True)
class EmulatedKubeApi(kmock.KubernetesEmulator):
    """kmock's emulator with the server-side behaviour listed in the module docstring."""

    tokens: Mapping[str, str] = attrs.field(factory=dict)  # bearer token -> identity
    audit: list[AuditRecord] = attrs.field(factory=list, init=False)
    pod_logs: dict[tuple[str, str], str] = attrs.field(factory=dict, init=False)
    _resource_version: int = attrs.field(default=1, init=False)

    def _next_resource_version(self) -> str:
        self._resource_version += 1
        return str(self._resource_version)

    def _identity(self, request: kmock.Request) -> str:
        auth = {k.lower(): v for k, v in request.headers.items()}.get("authorization", "")
        token = auth.removeprefix("Bearer ").strip()
        return self.tokens.get(token, "anonymous")

    def _record(self, request: kmock.Request) -> None:
        resource = request.resource
        assert resource is not None
        method = str(request.method.value if request.method else "").upper()
        action = request.action
        if action == kmock.action.WATCH:
            verb = "watch"
        elif action == kmock.action.LIST:
            verb = "list"
        elif action == kmock.action.FETCH:
            verb = "get"
        elif action == kmock.action.CREATE:
            verb = "create"
        elif action == kmock.action.UPDATE:
            verb = "patch" if method == "PATCH" else "update"
        elif action == kmock.action.DELETE:
            verb = "delete"
        elif method == "DELETE":
            verb = "deletecollection"
        else:
            verb = method.lower()
        plural = str(resource.plural)
        if request.subresource:
            plural = f"{plural}/{request.subresource}"
        self.audit.append(
            AuditRecord(
                identity=self._identity(request),
                verb=verb,
                api_group=str(resource.group or ""),
                resource=plural,
                namespace=request.namespace,
                name=request.name,
            )
        )

    async def _handle(self, request: kmock.Request) -> aiohttp.web.StreamResponse:
        if request.resource is not None and request.action is not None:
            if request.resource.plural:  # discovery requests are not resource requests
                self._record(request)
            if request.action == kmock.action.CREATE and isinstance(request.data, dict):
                self._fill_server_fields(request)
            elif request.action == kmock.action.UPDATE and isinstance(request.data, dict):
                request.data.setdefault("metadata", {})["resourceVersion"] = (
                    self._next_resource_version()
                )
            elif (
                request.action == kmock.action.FETCH
                and request.subresource == "log"
                and request.resource.plural == "pods"
            ):
                text = self.pod_logs.get((str(request.namespace), str(request.name)))
                if text is None:
                    raise kmock.KubernetesObjectNotFoundError()
                return aiohttp.web.Response(text=text, content_type="text/plain")
        return await super()._handle(request)

    def _fill_server_fields(self, request: kmock.Request) -> None:
        metadata = request.data.setdefault("metadata", {})
        if not metadata.get("name"):
            prefix = metadata.get("generateName")
            if not prefix:
                raise kmock.KubernetesError(
                    status=422, reason="Invalid", message="metadata.name or generateName required"
                )
            metadata["name"] = f"{prefix}{random_suffix()}"
        if request.namespace and not metadata.get("namespace"):
            metadata["namespace"] = request.namespace
        metadata["uid"] = str(uuid.uuid4())
        metadata["creationTimestamp"] = now_rfc3339()
        metadata["resourceVersion"] = self._next_resource_version()

    async def _serve_list(self, request: kmock.Request) -> Any:
        payload = await super()._serve_list(request)
        selector = request.params.get("labelSelector")
        resource = request.resource
        assert resource is not None
        kind = None
        if resource in self.resources:
            kind = self.resources[resource].kind
        kind = kind or str(resource.plural).capitalize()
        api_version = f"{resource.group}/{resource.version}" if resource.group else resource.version
        return {
            "apiVersion": api_version,
            "kind": f"{kind}List",
            "metadata": {"resourceVersion": str(self._resource_version)},
            "items": [item for item in payload["items"] if label_selector_matches(selector, item)],
        }

    async def _serve_watch(self, request: kmock.Request) -> Any:
        selector = request.params.get("labelSelector")
        async for item in super()._serve_watch(request):
            if isinstance(item, dict) and not label_selector_matches(
                selector, item.get("object") or {}
            ):
                continue
            yield item


class KubeApiServer:
    """Runs an `EmulatedKubeApi` on 127.0.0.1 in a background thread with its own event loop."""

    def __init__(self, tokens: Mapping[str, str]) -> None:
        self.tokens = dict(tokens)
        self.url = ""
        self.api: EmulatedKubeApi | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._error: BaseException | None = None

    def start(self, timeout: float = 30) -> KubeApiServer:
        self._thread = threading.Thread(target=self._main, name="test-kube-api", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            raise RuntimeError("the emulated Kubernetes API did not start")
        if self._error is not None:
            raise RuntimeError("the emulated Kubernetes API failed to start") from self._error
        return self

    def _main(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:  # surfaced by start()
            self._error = exc
            self._ready.set()

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        async with (
            EmulatedKubeApi(tokens=self.tokens) as api,
            kmock.Server(api) as server,
        ):
            api.resources.load_bundled()  # discovery of the built-in resources
            self.api = api
            self.url = str(server.url).rstrip("/")
            self._ready.set()
            await self._stop.wait()

    def errors(self) -> list[Exception]:
        """Exceptions raised while serving requests (empty when all went well)."""
        return list(self.api.errors) if self.api is not None and self.api.active else []

    def audit(self, identity: str | None = None) -> list[AuditRecord]:
        records = list(self.api.audit) if self.api is not None else []
        return [r for r in records if identity is None or r.identity == identity]

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(timeout=15)


def write_kubeconfig(path: Path, server_url: str, token: str, namespace: str) -> Path:
    """A kubeconfig for one identity (a bearer token) against the emulated API."""
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "emulated", "cluster": {"server": server_url}}],
        "users": [{"name": "user", "user": {"token": token}}],
        "contexts": [
            {
                "name": "emulated",
                "context": {"cluster": "emulated", "user": "user", "namespace": namespace},
            }
        ],
        "current-context": "emulated",
    }
    path.write_text(yaml.safe_dump(config))
    return path
