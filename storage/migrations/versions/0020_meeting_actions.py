"""meeting actions: each action agreed at a meeting is a row with an owner, a due date and a
done state

A meeting's notes kept their actions as a JSON list of lines on the session
(`meeting_occurrences.actions`). Each line becomes a `meeting_actions` row (no owner, no due
date, not done), in its order, and the column goes: the rows are the one record of a
meeting's actions. Downgrading writes the rows' text back as lines.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-02 03:58:49
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types

revision: str = "0020"
down_revision: str | Sequence[str] | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

occurrences = sa.table(
    "meeting_occurrences",
    sa.column("id", sa.Integer),
    sa.column("team_id", sa.String),
    sa.column("community_id", sa.Integer),
    sa.column("notes_at", storage.types.UTCDateTime(timezone=True)),
    sa.column("ends_at", storage.types.UTCDateTime(timezone=True)),
    sa.column("actions", sa.JSON),
)
actions = sa.table(
    "meeting_actions",
    sa.column("team_id", sa.String),
    sa.column("community_id", sa.Integer),
    sa.column("occurrence_id", sa.Integer),
    sa.column("position", sa.Integer),
    sa.column("text", sa.Text),
    sa.column("version", sa.Integer),
    sa.column("created_at", storage.types.UTCDateTime(timezone=True)),
)


def upgrade() -> None:
    op.create_table(
        "meeting_actions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("occurrence_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("owner", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("due", sa.Date(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("done_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("done_by", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("created_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("dm_channel", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("dm_ts", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.ForeignKeyConstraint(["community_id"], ["communities.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["occurrence_id"], ["meeting_occurrences.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("meeting_actions", schema=None) as batch_op:
        batch_op.create_index("ix_meeting_action_community", ["community_id", "due"], unique=False)
        batch_op.create_index(
            "ix_meeting_action_occurrence", ["occurrence_id", "position"], unique=False
        )

    connection = op.get_bind()
    found = connection.execute(
        sa.select(
            occurrences.c.id,
            occurrences.c.team_id,
            occurrences.c.community_id,
            occurrences.c.notes_at,
            occurrences.c.ends_at,
            occurrences.c.actions,
        )
    ).all()
    rows = []
    for occurrence_id, team_id, community_id, notes_at, ends_at, lines in found:
        texts = [str(line).strip() for line in lines or [] if str(line).strip()]
        for position, text in enumerate(texts):
            rows.append(
                {
                    "team_id": team_id,
                    "community_id": community_id,
                    "occurrence_id": occurrence_id,
                    "position": position,
                    "text": text,
                    "version": 0,
                    "created_at": notes_at or ends_at or datetime.now(UTC),
                }
            )
    if rows:
        op.bulk_insert(actions, rows)

    # Not in batch mode: SQLite (3.35 and later) drops the column in place, where a batch
    # would copy the table and drop the old one, and the foreign keys' cascade would take
    # every RSVP and action of the sessions with it.
    op.drop_column("meeting_occurrences", "actions")


def downgrade() -> None:
    op.add_column("meeting_occurrences", sa.Column("actions", sa.JSON(), nullable=True))
    connection = op.get_bind()
    held: dict[int, list[str]] = {}
    for occurrence_id, text in connection.execute(
        sa.select(actions.c.occurrence_id, actions.c.text).order_by(
            actions.c.occurrence_id, actions.c.position
        )
    ).all():
        held.setdefault(occurrence_id, []).append(text)
    connection.execute(occurrences.update().values(actions=[]))
    for occurrence_id, lines in held.items():
        connection.execute(
            occurrences.update().where(occurrences.c.id == occurrence_id).values(actions=lines)
        )
    if connection.dialect.name != "sqlite":  # SQLite would copy the table (see upgrade)
        op.alter_column("meeting_occurrences", "actions", existing_type=sa.JSON(), nullable=False)
    with op.batch_alter_table("meeting_actions", schema=None) as batch_op:
        batch_op.drop_index("ix_meeting_action_occurrence")
        batch_op.drop_index("ix_meeting_action_community")
    op.drop_table("meeting_actions")
