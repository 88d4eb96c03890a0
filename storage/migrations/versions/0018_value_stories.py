"""value stories: members' stories of the value the community created, and how often they
are asked (quarterly by default)

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-02 03:59:17.184755
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types

revision: str = "0018"
down_revision: str | Sequence[str] | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "value_stories",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("period", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.Column("consent", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("answered_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["community_id"], ["communities.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("community_id", "user_id", "period", name="uq_value_story_period"),
    )
    with op.batch_alter_table("value_stories", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_value_stories_community_id"), ["community_id"], unique=False
        )

    with op.batch_alter_table("sustaining_settings", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "stories_period",
                sqlmodel.sql.sqltypes.AutoString(length=16),
                server_default="quarterly",
                nullable=False,
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("sustaining_settings", schema=None) as batch_op:
        batch_op.drop_column("stories_period")

    with op.batch_alter_table("value_stories", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_value_stories_community_id"))

    op.drop_table("value_stories")
