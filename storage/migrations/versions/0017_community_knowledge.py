"""community knowledge: the library of saved messages and monthly answers

A community's library keeps what its members chose to keep: a message saved with the *Save to
community knowledge* shortcut (its text, author, link, a title and tags) or an answer to the
monthly "What did we learn?" prompt. Sustaining settings gain whether that prompt is sent
(on for every community, old and new).

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02 04:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types

revision: str = "0017"
down_revision: str | Sequence[str] | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "library_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(length=150), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("author", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("channel_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("message_ts", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("permalink", sa.Text(), nullable=True),
        sa.Column("period", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.Column("saved_by", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("saved_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["community_id"], ["communities.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("community_id", "message_ts", name="uq_library_entry_message"),
        sa.UniqueConstraint("community_id", "period", "author", name="uq_library_entry_period"),
    )
    with op.batch_alter_table("library_entries", schema=None) as batch_op:
        batch_op.create_index(
            "ix_library_entry_community_saved", ["community_id", "saved_at"], unique=False
        )
    with op.batch_alter_table("sustaining_settings", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("learning_monthly", sa.Boolean(), server_default=sa.true(), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("sustaining_settings", schema=None) as batch_op:
        batch_op.drop_column("learning_monthly")
    with op.batch_alter_table("library_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_library_entry_community_saved")
    op.drop_table("library_entries")
