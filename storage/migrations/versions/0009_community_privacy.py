"""whether a community's channel is private

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 18:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Communities started before this revision are taken as public until Slack next says
    # otherwise (a rename or conversion event, or `/cop start` in a new channel).
    with op.batch_alter_table("communities") as batch:
        batch.add_column(
            sa.Column("is_private", sa.Boolean(), server_default=sa.false(), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("communities") as batch:
        batch.drop_column("is_private")
