"""scheduled send channels: each row says which channel it posts to, where known when
scheduled, so a channel's rows stay with the scheduler process that posted there last

Slack allows a channel about one message a second, and only the process that posted last
knows when the next may go. Two schedulers sharing a channel's rows drew 429s from each
other. Rows scheduled before this have no channel and are claimed as before. The index finds
the rows finished in the last seconds, whose channels are still held.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-02 14:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0021"
down_revision: str | Sequence[str] | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("scheduled_sends", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("channel", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True)
        )
        batch_op.create_index("ix_scheduled_send_finished", ["finished_at"])


def downgrade() -> None:
    with op.batch_alter_table("scheduled_sends", schema=None) as batch_op:
        batch_op.drop_index("ix_scheduled_send_finished")
        batch_op.drop_column("channel")
