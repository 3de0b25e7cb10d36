"""ML models and their trained versions.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create ml_models and ml_model_versions."""
    op.create_table(
        "ml_models",
        sa.Column("id", sqlmodel.AutoString(length=32), primary_key=True),
        sa.Column(
            "project_id",
            sa.String(),
            sa.ForeignKey("projects.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("name", sqlmodel.AutoString(length=63), nullable=False),
        sa.Column("ontology", sqlmodel.AutoString(length=63), nullable=False),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column("created_by", sqlmodel.AutoString(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("project_id", "name", name="uq_ml_models_project_name"),
    )
    op.create_index("ix_ml_models_project_id", "ml_models", ["project_id"])
    op.create_table(
        "ml_model_versions",
        sa.Column("id", sqlmodel.AutoString(length=32), primary_key=True),
        sa.Column(
            "model_id",
            sa.String(),
            sa.ForeignKey("ml_models.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("flow_run_id", sqlmodel.AutoString(length=64), nullable=False),
        sa.Column("state", sqlmodel.AutoString(length=16), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("content_hash", sqlmodel.AutoString(length=64), nullable=True),
        sa.Column("card", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("model_id", "version", name="uq_ml_model_versions"),
    )
    op.create_index("ix_ml_model_versions_model_id", "ml_model_versions", ["model_id"])


def downgrade() -> None:
    """Drop both tables."""
    op.drop_table("ml_model_versions")
    op.drop_table("ml_models")
