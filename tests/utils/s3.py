"""A real S3 endpoint for tests: moto's standalone server as a separate process."""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass

from tests.utils.servers import VENV_BIN, free_port, stop_process, wait_http


@dataclass(frozen=True)
class S3Endpoint:
    """Where the endpoint listens and the (dummy) credentials it accepts."""

    url: str
    access_key: str = "testing"
    secret_key: str = "testing"

    def env(self) -> dict[str, str]:
        """Standard AWS variables that botocore/s3fs read."""
        return {
            "AWS_ENDPOINT_URL": self.url,
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
            "AWS_DEFAULT_REGION": "us-east-1",
        }


@contextlib.contextmanager
def moto_s3() -> Iterator[S3Endpoint]:
    """Run `moto_server` on a free port until the block ends."""
    port = free_port()
    process = subprocess.Popen(
        [str(VENV_BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{url}/moto-api/", timeout=60, process=process)
        yield S3Endpoint(url=url)
    finally:
        stop_process(process, signals=1, grace=10)
