"""Tables. Every row carries the Slack team it belongs to; every community is one channel."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime

# A Slack id (team, channel, user) is short; the bound keeps PostgreSQL and SQLite alike.
SLACK_ID = 32


class Community(SQLModel, table=True):
    __tablename__ = "communities"
    __table_args__ = (UniqueConstraint("team_id", "channel_id", name="uq_community_channel"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=SLACK_ID, index=True)
    channel_id: str = Field(max_length=SLACK_ID)
    name: str = Field(max_length=80)
    domain: str = Field(max_length=150)
    timezone: str = Field(max_length=64)
    created_by: str = Field(max_length=SLACK_ID)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class StageRevision(SQLModel, table=True):
    """One saved version of a stage's answers. The newest version is the current answer;
    older ones are the history of who changed what, when."""

    __tablename__ = "stage_revisions"
    __table_args__ = (
        UniqueConstraint("community_id", "stage", "version", name="uq_stage_revision_version"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=SLACK_ID)
    community_id: int = Field(foreign_key="communities.id", ondelete="CASCADE")
    stage: str = Field(max_length=32)
    version: int
    answers: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    edited_by: str = Field(max_length=SLACK_ID)
    edited_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class Membership(SQLModel, table=True):
    """A person's time in a community. Leaving ends a membership; it is never deleted."""

    __tablename__ = "memberships"
    __table_args__ = (Index("ix_membership_person", "team_id", "user_id"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=SLACK_ID)
    community_id: int = Field(foreign_key="communities.id", ondelete="CASCADE", index=True)
    user_id: str = Field(max_length=SLACK_ID)
    joined_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    left_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
