"""Ontologies and their versions (proposals included).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create ontologies and ontology_versions."""
    op.create_table(
        "ontologies",
        sa.Column("id", sqlmodel.AutoString(length=32), primary_key=True),
        sa.Column(
            "project_id",
            sa.String(),
            sa.ForeignKey("projects.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("name", sqlmodel.AutoString(length=63), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("project_id", "name", name="uq_ontologies_project_name"),
    )
    op.create_index("ix_ontologies_project_id", "ontologies", ["project_id"])
    op.create_table(
        "ontology_versions",
        sa.Column("id", sqlmodel.AutoString(length=32), primary_key=True),
        sa.Column(
            "ontology_id",
            sa.String(),
            sa.ForeignKey("ontologies.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("turtle", sa.Text(), nullable=False),
        sa.Column("author", sqlmodel.AutoString(length=128), nullable=False),
        sa.Column("message", sqlmodel.AutoString(length=1000), nullable=False),
        sa.Column("origin", sqlmodel.AutoString(length=16), nullable=False),
        sa.Column("status", sqlmodel.AutoString(length=16), nullable=False),
        sa.Column("parent", sa.Integer(), nullable=True),
        sa.Column("changes", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("ontology_id", "version", name="uq_ontology_versions"),
    )
    op.create_index("ix_ontology_versions_ontology_id", "ontology_versions", ["ontology_id"])


def downgrade() -> None:
    """Drop both tables."""
    op.drop_table("ontology_versions")
    op.drop_table("ontologies")
