"""Settings of the SQL plugin."""

from __future__ import annotations

from typing import Any

from pydantic import Field, SecretStr, field_validator, model_validator
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from storage_plugins.base import PluginConfig

_DRIVERS = {
    "sqlite": "sqlite",
    "sqlite+pysqlite": "sqlite",
    "postgresql": "postgresql+psycopg",
    "postgresql+psycopg": "postgresql+psycopg",
    "postgres": "postgresql+psycopg",
    "mysql": "mysql+pymysql",
    "mysql+pymysql": "mysql+pymysql",
    "mariadb": "mariadb+pymysql",
    "mariadb+pymysql": "mariadb+pymysql",
}


class SQLConfig(PluginConfig):
    """Where and how the SQL plugin connects.

    Example:
        >>> SQLConfig(url="postgresql://mimir:s3cret@db:5432/project").redacted()["url"]
        'postgresql+psycopg://mimir:***@db:5432/project'
    """

    url: str = Field(
        description=(
            "SQLAlchemy URL: 'sqlite:///path/to/project.db' (one file per project), "
            "'postgresql+psycopg://user@host:5432/db' or 'mysql+pymysql://user@host:3306/db'. "
            "A password in the URL is moved to `password`."
        )
    )
    password: SecretStr | None = Field(default=None, description="Database password.")
    pool_size: int = Field(default=5, ge=1, description="Connections kept open in the pool.")
    max_overflow: int = Field(
        default=5, ge=0, description="Extra connections allowed beyond pool_size under load."
    )
    pool_timeout_s: float = Field(
        default=30.0, gt=0, description="Seconds to wait for a free pooled connection."
    )
    connect_timeout_s: float = Field(
        default=5.0, gt=0, description="Seconds before a connection attempt to a server fails."
    )
    busy_timeout_s: float = Field(
        default=60.0, gt=0, description="SQLite only: seconds a writer waits for the file lock."
    )
    chunk_rows: int = Field(
        default=10_000, ge=1, description="Rows validated and sent to the driver per chunk."
    )
    echo: bool = Field(default=False, description="Log every SQL statement (debugging).")

    @model_validator(mode="before")
    @classmethod
    def _split_password(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("url"), str):
            try:
                url = make_url(data["url"])
            except ArgumentError:
                return data
            if url.password is not None:
                if data.get("password") is None:
                    data = {**data, "password": url.password}
                bare = URL.create(
                    drivername=url.drivername,
                    username=url.username,
                    host=url.host,
                    port=url.port,
                    database=url.database,
                    query=url.query,
                )
                data = {**data, "url": bare.render_as_string(hide_password=False)}
        return data

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        try:
            url = make_url(value)
        except ArgumentError as exc:
            raise ValueError(f"not a database URL: {exc}") from None
        driver = _DRIVERS.get(url.drivername)
        if driver is None:
            raise ValueError(
                f"unsupported driver {url.drivername!r}; use one of sqlite, "
                "postgresql+psycopg, mysql+pymysql, mariadb+pymysql"
            )
        url = url.set(drivername=driver)
        if driver == "sqlite" and (not url.database or url.database == ":memory:"):
            raise ValueError("SQLite needs a file path, e.g. sqlite:///data/project.db")
        if driver != "sqlite" and not url.database:
            raise ValueError("the URL must name a database")
        return url.render_as_string(hide_password=False)

    @property
    def backend(self) -> str:
        """'sqlite', 'postgresql' or 'mysql' (MariaDB included)."""
        return make_url(self.url).get_backend_name().replace("mariadb", "mysql")

    def sqlalchemy_url(self) -> URL:
        """The URL to connect with, password included (never log it)."""
        url = make_url(self.url)
        if self.password is not None:
            url = url.set(password=self.password.get_secret_value())
        return url

    def redacted(self) -> dict[str, Any]:
        """Settings safe to show: the password masked, also inside the URL."""
        data = super().redacted()
        url = make_url(self.url)
        if self.password is not None:
            url = url.set(password="hidden")  # noqa: S106 - rendered as ***
        data["url"] = url.render_as_string(hide_password=True)
        return data
