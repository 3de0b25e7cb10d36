"""Triggers (condition + output pipeline) and the actions manual triggers hold on alerts.

Revision ID: 0008_triggers
Revises: 0007_anomalies
Create Date: 2026-12-02
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0008_triggers"
down_revision = "0007_anomalies"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create triggers and alert_actions."""
    op.create_table(
        "triggers",
        sa.Column("id", sqlmodel.AutoString(length=32), primary_key=True),
        sa.Column(
            "project_id",
            sa.String(),
            sa.ForeignKey("projects.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("name", sqlmodel.AutoString(length=63), nullable=False),
        sa.Column("description", sqlmodel.AutoString(length=1000), nullable=False),
        sa.Column("condition", sa.JSON(), nullable=False),
        sa.Column("pipeline", sqlmodel.AutoString(length=63), nullable=False),
        sa.Column("approval", sqlmodel.AutoString(length=16), nullable=False),
        sa.Column("automation_id", sqlmodel.AutoString(length=36), nullable=True),
        sa.Column("created_by", sqlmodel.AutoString(length=128), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("project_id", "name", name="uq_triggers_project_name"),
    )
    op.create_index("ix_triggers_project_id", "triggers", ["project_id"])
    op.create_table(
        "alert_actions",
        sa.Column("id", sqlmodel.AutoString(length=32), primary_key=True),
        sa.Column(
            "alert_id", sa.String(), sa.ForeignKey("alerts.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column(
            "trigger_id",
            sa.String(),
            sa.ForeignKey("triggers.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("pipeline", sqlmodel.AutoString(length=63), nullable=False),
        sa.Column("parameters", sa.JSON(), nullable=False),
        sa.Column("state", sqlmodel.AutoString(length=16), nullable=False),
        sa.Column("flow_run_id", sqlmodel.AutoString(length=36), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sqlmodel.AutoString(length=128), nullable=True),
    )
    op.create_index("ix_alert_actions_alert_id", "alert_actions", ["alert_id"])
    op.create_index("ix_alert_actions_trigger_id", "alert_actions", ["trigger_id"])


def downgrade() -> None:
    """Drop both tables."""
    op.drop_table("alert_actions")
    op.drop_table("triggers")
