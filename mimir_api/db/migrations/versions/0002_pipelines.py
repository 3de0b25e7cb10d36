"""Pipelines and their immutable versions.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create pipelines and pipeline_versions."""
    op.create_table(
        "pipelines",
        sa.Column("id", sqlmodel.AutoString(length=32), primary_key=True),
        sa.Column(
            "project_id",
            sa.String(),
            sa.ForeignKey("projects.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("name", sqlmodel.AutoString(length=63), nullable=False),
        sa.Column("type", sqlmodel.AutoString(length=16), nullable=False),
        sa.Column("current_version", sa.Integer(), nullable=False),
        sa.Column("deployment_id", sqlmodel.AutoString(length=36), nullable=True),
        sa.Column("webhook_secret_hash", sqlmodel.AutoString(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("project_id", "name", name="uq_pipelines_project_name"),
    )
    op.create_index("ix_pipelines_project_id", "pipelines", ["project_id"])
    op.create_table(
        "pipeline_versions",
        sa.Column("id", sqlmodel.AutoString(length=32), primary_key=True),
        sa.Column(
            "pipeline_id",
            sa.String(),
            sa.ForeignKey("pipelines.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("yaml", sa.Text(), nullable=False),
        sa.Column("author", sqlmodel.AutoString(length=128), nullable=False),
        sa.Column("message", sqlmodel.AutoString(length=1000), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("pipeline_id", "version", name="uq_pipeline_versions"),
    )
    op.create_index("ix_pipeline_versions_pipeline_id", "pipeline_versions", ["pipeline_id"])


def downgrade() -> None:
    """Drop both tables."""
    op.drop_table("pipeline_versions")
    op.drop_table("pipelines")
