"""Remember which projects have a configured storage Block.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add projects.storage_plugin (null: the project uses the default store)."""
    with op.batch_alter_table("projects") as batch:
        batch.add_column(sa.Column("storage_plugin", sqlmodel.AutoString(length=64), nullable=True))


def downgrade() -> None:
    """Drop projects.storage_plugin."""
    with op.batch_alter_table("projects") as batch:
        batch.drop_column("storage_plugin")
