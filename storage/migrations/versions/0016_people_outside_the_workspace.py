"""people outside the workspace in the members stage; levels the members stage names

The members stage's contributors, experts and possible coordinators were lists of Slack user
ids; each is now a list of people, a Slack user ({"user": id}) or someone outside the workspace
({"name": ..., "organisation": ...}). Every saved version is rewritten, so the history reads
the same way as the current answers.

Revision ID: 0016
Revises: 0013
Create Date: 2026-12-01 19:45:00
"""

import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0016"
down_revision: str | Sequence[str] | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PEOPLE_QUESTIONS = ("contributors", "experts", "possible_coordinators")
revisions = sa.table(
    "stage_revisions",
    sa.column("id", sa.Integer),
    sa.column("stage", sa.String),
    sa.column("answers", sa.JSON),
)


def _rewrite(answers: dict[str, Any], change: Any) -> dict[str, Any] | None:
    changed = False
    for key in PEOPLE_QUESTIONS:
        value = answers.get(key)
        if isinstance(value, list) and value:
            new = [c for v in value if (c := change(v)) is not None]
            if new != value:
                answers[key], changed = new, True
    return answers if changed else None


def _migrate(change: Any) -> None:
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(revisions.c.id, revisions.c.answers).where(revisions.c.stage == "members")
    ).all()
    for row_id, answers in rows:
        if isinstance(answers, str):  # some drivers hand JSON back as text
            answers = json.loads(answers)
        rewritten = _rewrite(dict(answers or {}), change)
        if rewritten is not None:
            connection.execute(
                revisions.update().where(revisions.c.id == row_id).values(answers=rewritten)
            )


def upgrade() -> None:
    _migrate(lambda v: {"user": v} if isinstance(v, str) else v)
    # A level a coordinator chooses may be one the members stage named (up to 80 characters).
    with op.batch_alter_table("memberships") as batch:
        batch.alter_column(
            "level",
            existing_type=sqlmodel.sql.sqltypes.AutoString(length=16),
            type_=sqlmodel.sql.sqltypes.AutoString(length=80),
            existing_nullable=True,
        )


def downgrade() -> None:
    with op.batch_alter_table("memberships") as batch:
        batch.alter_column(
            "level",
            existing_type=sqlmodel.sql.sqltypes.AutoString(length=80),
            type_=sqlmodel.sql.sqltypes.AutoString(length=16),
            existing_nullable=True,
        )
    # Someone outside the workspace has no Slack id to go back to: they are dropped.
    _migrate(lambda v: v.get("user") if isinstance(v, dict) else v)
