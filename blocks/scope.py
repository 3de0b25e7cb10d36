"""Which Prefect blocks a project's pipelines may load.

A pipeline names a Secret or notification block by a short name (`secret: github-token`,
`block: slack-webhook/ops`); the run loads the block `<project>--<name>` of that type, so a
pipeline of project `sales` can read only the blocks an operator created for `sales`
(`prefect block create secret sales--github-token`), never another project's credentials,
the Prefect server's own blocks or Mimir's storage blocks.

The short name may not contain `--`: project names may, and without that rule a block
`sales--eu--key` could belong to project `sales` (name `eu--key`) or `sales--eu` (`key`).
"""

from __future__ import annotations

import re

SEPARATOR = "--"
_SHORT_NAME = re.compile(r"^[a-z0-9](?:-?[a-z0-9])*$")


class BlockOutOfScope(ValueError):
    """The name does not denote a block the project may use."""


def project_block_name(project: str, name: str) -> str:
    """The Prefect block name that `name` denotes for `project`: `<project>--<name>`."""
    if not project:
        raise BlockOutOfScope(
            f"block {name!r}: this run belongs to no project, so it may load no block"
        )
    if not _SHORT_NAME.fullmatch(name):
        raise BlockOutOfScope(
            f"block name {name!r}: expected lowercase letters, digits and single dashes "
            f"(the run loads the block '{project}{SEPARATOR}<name>' created for project "
            f"{project!r})"
        )
    return f"{project}{SEPARATOR}{name}"
