"""Initial metadata schema: projects and API tokens.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the projects and api_tokens tables."""
    op.create_table(
        "projects",
        sa.Column("id", sqlmodel.AutoString(length=32), primary_key=True),
        sa.Column("name", sqlmodel.AutoString(length=63), nullable=False),
        sa.Column("description", sqlmodel.AutoString(length=4000), nullable=False),
        sa.Column("labels", sa.JSON(), nullable=False),
        sa.Column("storage_url", sqlmodel.AutoString(length=1024), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_projects_name", "projects", ["name"], unique=True)
    op.create_table(
        "api_tokens",
        sa.Column("id", sqlmodel.AutoString(length=32), primary_key=True),
        sa.Column("name", sqlmodel.AutoString(length=63), nullable=False),
        sa.Column("token_hash", sqlmodel.AutoString(length=64), nullable=False),
        sa.Column("scopes", sqlmodel.AutoString(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_api_tokens_name", "api_tokens", ["name"], unique=True)
    op.create_index("ix_api_tokens_token_hash", "api_tokens", ["token_hash"], unique=True)


def downgrade() -> None:
    """Drop both tables."""
    op.drop_table("api_tokens")
    op.drop_table("projects")
