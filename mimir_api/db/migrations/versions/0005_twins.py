"""Digital twins of projects.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create twins, their what-if scenarios and the scenarios' edit (delta) rows."""
    op.create_table(
        "twins",
        sa.Column("id", sqlmodel.AutoString(length=32), primary_key=True),
        sa.Column(
            "project_id",
            sa.String(),
            sa.ForeignKey("projects.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("name", sqlmodel.AutoString(length=63), nullable=False),
        sa.Column("description", sqlmodel.AutoString(length=4000), nullable=False),
        sa.Column("ontologies", sa.JSON(), nullable=False),
        sa.Column("timeout_s", sa.Float(), nullable=False),
        sa.Column("max_rows", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("project_id", "name", name="uq_twins_project_name"),
    )
    op.create_index("ix_twins_project_id", "twins", ["project_id"])
    op.create_table(
        "twin_scenarios",
        sa.Column("id", sqlmodel.AutoString(length=32), primary_key=True),
        sa.Column("twin_id", sa.String(), sa.ForeignKey("twins.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("name", sqlmodel.AutoString(length=63), nullable=False),
        sa.Column("description", sqlmodel.AutoString(length=4000), nullable=False),
        sa.Column("author", sqlmodel.AutoString(length=128), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("twin_id", "name", name="uq_twin_scenarios_twin_name"),
    )
    op.create_index("ix_twin_scenarios_twin_id", "twin_scenarios", ["twin_id"])
    op.create_table(
        "twin_scenario_edits",
        sa.Column("id", sqlmodel.AutoString(length=32), primary_key=True),
        sa.Column("scenario_id", sa.String(),
                  sa.ForeignKey("twin_scenarios.id", ondelete="CASCADE"), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.AutoString(length=32), nullable=False),
        sa.Column("entity", sqlmodel.AutoString(length=4000), nullable=False),
        sa.Column("property", sqlmodel.AutoString(length=4000), nullable=True),
        sa.Column("old_value", sa.JSON(), nullable=True),
        sa.Column("new_value", sa.JSON(), nullable=True),
        sa.Column("attributes", sa.JSON(), nullable=True),
        sa.Column("author", sqlmodel.AutoString(length=128), nullable=False),
        sa.Column("rationale", sqlmodel.AutoString(length=4000), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("scenario_id", "seq", name="uq_twin_scenario_edits_seq"),
    )
    op.create_index("ix_twin_scenario_edits_scenario_id", "twin_scenario_edits",
                    ["scenario_id"])


def downgrade() -> None:
    """Drop twins and their scenarios."""
    op.drop_table("twin_scenario_edits")
    op.drop_table("twin_scenarios")
    op.drop_index("ix_twins_project_id", table_name="twins")
    op.drop_table("twins")
