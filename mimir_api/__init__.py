"""Mimir AIP's outer layer: the service registry, REST API, MCP server, metadata DB and CLI.

Everything a person or an agent can do is an *operation* in `mimir_api.services`; the REST
routes (`mimir_api.api`) and the MCP tools (`mimir_api.mcp`) are generated from that one
registry, so the two surfaces cannot drift apart.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("mimir-aip")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"
