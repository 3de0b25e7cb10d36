"""Anomalies, alerts and per-project detection settings.

Revision ID: 0007_anomalies
Revises: 0006
Create Date: 2026-12-02
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0007_anomalies"
down_revision = "0006"
branch_labels = None
depends_on = None


def _project_fk() -> sa.Column:
    return sa.Column(
        "project_id", sa.String(), sa.ForeignKey("projects.id", ondelete="CASCADE"), nullable=False
    )


def upgrade() -> None:
    """Create anomalies, alerts and anomaly_settings."""
    op.create_table(
        "anomalies",
        sa.Column("id", sqlmodel.AutoString(length=32), primary_key=True),
        _project_fk(),
        sa.Column("run_id", sqlmodel.AutoString(length=64), nullable=False),
        sa.Column("class_name", sqlmodel.AutoString(length=255), nullable=False),
        sa.Column("entity", sqlmodel.AutoString(length=2048), nullable=False),
        sa.Column("attributes", sa.JSON(), nullable=False),
        sa.Column("value", sa.JSON(), nullable=True),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("method", sqlmodel.AutoString(length=32), nullable=False),
        sa.Column("group_name", sqlmodel.AutoString(length=1024), nullable=True),
        sa.Column("expected_low", sa.Float(), nullable=True),
        sa.Column("expected_high", sa.Float(), nullable=True),
        sa.Column("explanation", sa.Text(), nullable=False),
        sa.Column("detected_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_anomalies_project_id", "anomalies", ["project_id"])
    op.create_index("ix_anomalies_run_id", "anomalies", ["run_id"])
    op.create_table(
        "alerts",
        sa.Column("id", sqlmodel.AutoString(length=32), primary_key=True),
        _project_fk(),
        sa.Column("dedup_key", sqlmodel.AutoString(length=2400), nullable=False),
        sa.Column("rule", sqlmodel.AutoString(length=300), nullable=False),
        sa.Column("entity", sqlmodel.AutoString(length=2048), nullable=False),
        sa.Column("class_name", sqlmodel.AutoString(length=255), nullable=False),
        sa.Column("severity", sqlmodel.AutoString(length=16), nullable=False),
        sa.Column("state", sqlmodel.AutoString(length=16), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("cooldown_s", sa.Integer(), nullable=False),
        sa.Column("occurrences", sa.Integer(), nullable=False),
        sa.Column("last_run_id", sqlmodel.AutoString(length=64), nullable=False),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_by", sqlmodel.AutoString(length=128), nullable=True),
    )
    op.create_index("ix_alerts_project_id", "alerts", ["project_id"])
    op.create_index("ix_alerts_dedup_key", "alerts", ["dedup_key"])
    op.create_index("ix_alerts_state", "alerts", ["state"])
    op.create_table(
        "anomaly_settings",
        sa.Column(
            "project_id",
            sa.String(),
            sa.ForeignKey("projects.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    """Drop the three tables."""
    op.drop_table("anomaly_settings")
    op.drop_table("alerts")
    op.drop_table("anomalies")
