"""Tables. Every row carries the Slack team it belongs to; every community is one channel."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from pydantic import ConfigDict
from sqlalchemy import JSON, Boolean, Column, Index, Text, UniqueConstraint, false, text, true
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime

# A Slack id (team, channel, user) is short; the bound keeps PostgreSQL and SQLite alike.
SLACK_ID = 32


class Table(SQLModel):
    """What every table's model shares."""

    # Rows come from the database or are built field by field, never validated, so pydantic's
    # validator and serializer for each table are built when first used (a `model_dump`), not
    # for all of them at start: about 0.6 MiB resident that a process mostly never needs.
    model_config = ConfigDict(defer_build=True)


class Community(Table, table=True):
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
    # Set when the coordinators mark the terms of reference agreed: the community is launched.
    launched_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime(), nullable=True)
    )
    launched_by: str | None = Field(default=None, max_length=SLACK_ID)
    # Set when a coordinator closes the community: from then on it is read-only (see
    # `bot.services.communities.is_closed`), while its members share what they learned.
    closed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    # Set when Slack says its channel was deleted or archived: nothing more is sent for it.
    gone_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    # Whether its channel is private, as Slack said at `/cop start` and since (rename and
    # conversion events): a private channel's community is shown only to its members.
    is_private: bool = Field(default=False, sa_column_kwargs={"server_default": false()})


class StageRevision(Table, table=True):
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


class Membership(Table, table=True):
    """A person's time in a community. Leaving ends a membership; it is never deleted, so a
    person who comes back has a second row and their history stays whole."""

    __tablename__ = "memberships"
    __table_args__ = (
        Index("ix_membership_person", "team_id", "user_id"),
        # At most one membership that has not ended per person and community: the database,
        # not the code, is what makes a duplicate join event start nothing twice.
        Index(
            "uq_membership_current",
            "community_id",
            "user_id",
            unique=True,
            sqlite_where=text("left_at IS NULL"),
            postgresql_where=text("left_at IS NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=SLACK_ID)
    community_id: int = Field(foreign_key="communities.id", ondelete="CASCADE", index=True)
    user_id: str = Field(max_length=SLACK_ID)
    joined_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    left_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    # Whether this membership was welcomed (not a return within 30 days, not the founder).
    welcomed: bool = Field(default=False, sa_column_kwargs={"server_default": false()})
    # Learnt when the welcome looked the person up: bots are members of no roster.
    is_bot: bool = Field(default=False, sa_column_kwargs={"server_default": false()})
    # The participation level a coordinator chose (core, active, peripheral, or the name of
    # one the members stage defined); None: suggested from activity.
    level: str | None = Field(default=None, max_length=80)
    level_set_by: str | None = Field(default=None, max_length=SLACK_ID)
    level_set_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime(), nullable=True)
    )


class ScheduledSend(Table, table=True):
    """Something to send later: a reminder, a follow-up, a prompt.

    The row is the whole truth about it. A heartbeat claims due rows with a lease and marks
    them sent; a process that dies mid-send leaves a claim whose lease runs out, and the next
    heartbeat takes it again. `kind` names the sender and `payload` is its JSON input: nothing
    executable is stored.
    """

    __tablename__ = "scheduled_sends"
    __table_args__ = (
        UniqueConstraint("team_id", "dedupe_key", name="uq_scheduled_send_dedupe"),
        Index("ix_scheduled_send_due", "state", "due_at"),
        Index("ix_scheduled_send_subject", "community_id", "subject"),
        Index("ix_scheduled_send_finished", "finished_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=SLACK_ID)
    community_id: int | None = Field(default=None, foreign_key="communities.id", ondelete="CASCADE")
    kind: str = Field(max_length=64)
    payload: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    # What it is about, e.g. "meeting:12", so everything about one thing can be cancelled.
    subject: str | None = Field(default=None, max_length=64)
    # Scheduling the same key twice in a team is refused: what makes "exactly once" hold
    # for welcomes and notices, however often the triggering event arrives.
    dedupe_key: str | None = Field(default=None, max_length=200)
    # The channel it posts to (a person's id for a DM), where known when it is scheduled. Slack
    # allows a channel about one message a second, and only the process that posted last knows
    # when the next may go: a channel's rows stay with that process (see `claim_due`).
    channel: str | None = Field(default=None, max_length=SLACK_ID)
    due_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    # After this it is pointless (a reminder for a meeting that has started): dropped, not sent.
    stale_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    state: str = Field(default="pending", max_length=16)
    attempts: int = 0
    last_error: str | None = Field(default=None, max_length=500)
    claimed_by: str | None = Field(default=None, max_length=64)
    lease_until: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime(), nullable=True)
    )
    finished_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime(), nullable=True)
    )


class ProcessedEvent(Table, table=True):
    """The inbox: every Events API delivery, by Slack's event_id, written with its body before
    Slack gets its 200. Slack redelivers an event it thinks we missed, and every process must
    recognise the second copy; a process that dies after the 200 leaves the row for another
    to handle, claimed with a lease as scheduled rows are."""

    __tablename__ = "processed_events"
    __table_args__ = (UniqueConstraint("team_id", "event_id", name="uq_processed_event"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=SLACK_ID)
    event_id: str = Field(max_length=64)
    received_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False, index=True))
    # The signed body as Slack sent it (its signature was checked at the door); None for
    # events recorded before the inbox, which were all handled.
    body: str | None = Field(default=None, sa_column=Column(Text(), nullable=True))
    state: str = Field(default="pending", max_length=16, index=True)  # pending/claimed/done/failed
    attempts: int = 0
    claimed_by: str | None = Field(default=None, max_length=64)
    lease_until: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime(), nullable=True)
    )


class Installation(Table, table=True):
    """A workspace that installed the app through OAuth, with its bot token.

    Single-workspace installs (SLACK_BOT_TOKEN) have no rows here."""

    __tablename__ = "installations"
    __table_args__ = (UniqueConstraint("team_id", name="uq_installation_team"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=SLACK_ID)
    team_name: str | None = Field(default=None, max_length=200)
    enterprise_id: str | None = Field(default=None, max_length=SLACK_ID)
    app_id: str | None = Field(default=None, max_length=SLACK_ID)
    bot_token: str = Field(max_length=1000)  # encrypted (bot.tokens), never the token itself
    bot_id: str = Field(max_length=SLACK_ID)
    bot_user_id: str = Field(max_length=SLACK_ID)
    bot_scopes: str = Field(default="", max_length=2000)
    installer_user_id: str | None = Field(default=None, max_length=SLACK_ID)
    installed_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class TeamDeparture(Table, table=True):
    """A workspace that uninstalled the app: every row of the team is erased at `erase_at`
    (housekeeping does it) unless it installs again before then, which deletes this row."""

    __tablename__ = "team_departures"
    __table_args__ = (UniqueConstraint("team_id", name="uq_team_departure_team"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=SLACK_ID)
    departed_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    erase_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False, index=True))


class OAuthState(Table, table=True):
    """A one-time `state` for the OAuth install flow, so a redirect cannot be forged or replayed."""

    __tablename__ = "oauth_states"

    id: int | None = Field(default=None, primary_key=True)
    state: str = Field(max_length=64, unique=True)
    expires_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class ActivityDay(Table, table=True):
    """How many messages a person posted in a community's channel on one day (in the
    community's time zone). Only the count: the text of a message is never stored."""

    __tablename__ = "activity_days"
    __table_args__ = (UniqueConstraint("community_id", "user_id", "day", name="uq_activity_day"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=SLACK_ID)
    community_id: int = Field(foreign_key="communities.id", ondelete="CASCADE")
    user_id: str = Field(max_length=SLACK_ID)
    day: date
    messages: int = 0


class MemberProfile(Table, table=True):
    """What a member said about themselves when they introduced themselves."""

    __tablename__ = "member_profiles"
    __table_args__ = (UniqueConstraint("community_id", "user_id", name="uq_member_profile"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=SLACK_ID)
    community_id: int = Field(foreign_key="communities.id", ondelete="CASCADE")
    user_id: str = Field(max_length=SLACK_ID)
    role: str = Field(default="", max_length=150)
    organisation: str = Field(default="", max_length=150)
    interests: str = Field(default="", max_length=1000)
    hopes_to_give: str = Field(default="", max_length=1000)
    hopes_to_get: str = Field(default="", max_length=1000)
    introduced_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class JoinRequest(Table, table=True):
    """Someone asking to join a community whose membership is by invitation."""

    __tablename__ = "join_requests"
    __table_args__ = (
        # One open request per person and community, however often they press Join.
        Index(
            "uq_join_request_pending",
            "community_id",
            "user_id",
            unique=True,
            sqlite_where=text("state = 'pending'"),
            postgresql_where=text("state = 'pending'"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=SLACK_ID)
    community_id: int = Field(foreign_key="communities.id", ondelete="CASCADE", index=True)
    user_id: str = Field(max_length=SLACK_ID)
    state: str = Field(default="pending", max_length=16)
    requested_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    decided_by: str | None = Field(default=None, max_length=SLACK_ID)
    decided_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime(), nullable=True)
    )
    reason: str | None = Field(default=None, max_length=500)  # a decline's reason, if given
    # The DMs that asked each coordinator ({"channel", "ts"}), updated once it is decided.
    notices: list[dict[str, str]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )


class WelcomeSettings(Table, table=True):
    """How a community welcomes newcomers, as its coordinators set it."""

    __tablename__ = "welcome_settings"
    __table_args__ = (UniqueConstraint("community_id", name="uq_welcome_settings_community"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=SLACK_ID)
    community_id: int = Field(foreign_key="communities.id", ondelete="CASCADE")
    text: str = Field(default="", max_length=3000)
    pair_newcomers: bool = False
    updated_by: str = Field(max_length=SLACK_ID)
    updated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class Meeting(Table, table=True):
    """A meeting, or a series of them, as its organiser planned it.

    The start is kept as a local date and wall-clock time in an IANA zone, never as a UTC
    instant: a weekly 18:00 Europe/London meeting is at 18:00 in London in winter and summer.
    Each occurrence's UTC time is computed from these, in `bot.recurrence`.
    """

    __tablename__ = "meetings"

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=SLACK_ID)
    community_id: int = Field(foreign_key="communities.id", ondelete="CASCADE", index=True)
    purpose: str = Field(default="meeting", max_length=16)  # "meeting", or "launch" (workshop)
    title: str = Field(max_length=150)
    agenda: str = Field(default="", sa_column=Column(Text, nullable=False))
    first_date: date  # the series' first day, local to `timezone`
    start_time: time  # local wall-clock time
    duration_minutes: int
    timezone: str = Field(max_length=64)
    format: str = Field(max_length=16)
    place: str = Field(default="", max_length=500)
    recurrence: str = Field(default="none", max_length=16)
    repeat_until: date | None = None
    reminders: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    organiser: str = Field(max_length=SLACK_ID)
    facilitator: str | None = Field(default=None, max_length=SLACK_ID)
    # Bumped by every edit: scheduled rows carry it in their dedupe keys, so a new plan never
    # collides with the cancelled rows of an old one.
    plan_version: int = 1
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    updated_by: str = Field(max_length=SLACK_ID)
    cancelled_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime(), nullable=True)
    )
    cancelled_by: str | None = Field(default=None, max_length=SLACK_ID)


class MeetingOccurrence(Table, table=True):
    """One planned session of a meeting. Only the next few are planned; each one's end plans
    the next (see `bot.services.meetings`). RSVPs and notes belong to an occurrence."""

    __tablename__ = "meeting_occurrences"
    __table_args__ = (
        UniqueConstraint("meeting_id", "seq", name="uq_meeting_occurrence_seq"),
        Index("ix_meeting_occurrence_community", "community_id", "starts_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=SLACK_ID)
    community_id: int = Field(foreign_key="communities.id", ondelete="CASCADE")
    meeting_id: int = Field(foreign_key="meetings.id", ondelete="CASCADE")
    seq: int  # 1, 2, 3… in the order they were planned
    starts_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    ends_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    cancelled_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime(), nullable=True)
    )
    notes: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    notes_by: str | None = Field(default=None, max_length=SLACK_ID)
    notes_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    notes_ts: str | None = Field(default=None, max_length=32)  # the notes' message in the channel


class Rsvp(Table, table=True):
    """One person's answer for one occurrence. The unique constraint is what makes counts
    exact under concurrent clicks: counts are always recounted from these rows."""

    __tablename__ = "meeting_rsvps"
    __table_args__ = (UniqueConstraint("occurrence_id", "user_id", name="uq_rsvp_person"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=SLACK_ID)
    occurrence_id: int = Field(foreign_key="meeting_occurrences.id", ondelete="CASCADE")
    user_id: str = Field(max_length=SLACK_ID)
    answer: str = Field(max_length=16)
    answered_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class LiveMessage(Table, table=True):
    """A posted message whose content is drawn from rows (RSVP counts, agreements).

    Every change bumps `changes`; a redraw claims the message with a short lease, draws what
    the rows say, and records which change it showed. So under concurrent clicks the last
    redraw always shows every click, whichever process handled it, and bursts coalesce.
    """

    __tablename__ = "live_messages"
    __table_args__ = (UniqueConstraint("team_id", "subject", name="uq_live_message_subject"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=SLACK_ID)
    community_id: int = Field(foreign_key="communities.id", ondelete="CASCADE")
    subject: str = Field(max_length=64)  # e.g. "occurrence:12", "terms:3"
    channel_id: str = Field(max_length=SLACK_ID)
    ts: str = Field(max_length=32)
    changes: int = 0
    shown: int = 0
    redrawing_until: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime(), nullable=True)
    )


class TermsDraft(Table, table=True):
    """One draft of a community's terms of reference, built from its saved stage answers."""

    __tablename__ = "terms_drafts"
    __table_args__ = (UniqueConstraint("community_id", "version", name="uq_terms_draft_version"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=SLACK_ID)
    community_id: int = Field(foreign_key="communities.id", ondelete="CASCADE")
    version: int
    markdown: str = Field(sa_column=Column(Text, nullable=False))
    drafted_by: str = Field(max_length=SLACK_ID)
    drafted_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    file_id: str | None = Field(default=None, max_length=32)
    canvas_id: str | None = Field(default=None, max_length=32)
    agreed_by: str | None = Field(default=None, max_length=SLACK_ID)
    agreed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))


class TermsAgreement(Table, table=True):
    """A member's "I agree" to one draft."""

    __tablename__ = "terms_agreements"
    __table_args__ = (UniqueConstraint("draft_id", "user_id", name="uq_terms_agreement_person"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=SLACK_ID)
    draft_id: int = Field(foreign_key="terms_drafts.id", ondelete="CASCADE")
    user_id: str = Field(max_length=SLACK_ID)
    agreed_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class SustainingSettings(Table, table=True):
    """How a community keeps itself going, as its coordinators set it: how often the health
    digest comes, how often they are prompted to invite a new perspective, who receives the
    sponsor report and how often, and the stage of development if they override it."""

    __tablename__ = "sustaining_settings"
    __table_args__ = (UniqueConstraint("community_id", name="uq_sustaining_settings_community"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=SLACK_ID)
    community_id: int = Field(foreign_key="communities.id", ondelete="CASCADE")
    digest_period: str = Field(default="monthly", max_length=16)
    perspective_weeks: int = 13
    report_period: str = Field(default="never", max_length=16)
    report_recipients: list[str] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    # The sponsor report names stakeholders (their views, support and the map) only when a
    # coordinator has said it may: it goes outside the community.
    report_names_stakeholders: bool = Field(
        default=False, sa_column=Column(Boolean, nullable=False, server_default=false())
    )
    # Members are asked "What did we learn this month?" at the start of each month: on unless
    # a coordinator turns it off.
    learning_monthly: bool = Field(
        default=True, sa_column=Column(Boolean, nullable=False, server_default=true())
    )
    # Wenger's stage of development as a coordinator chose it; None: derived.
    stage_override: str | None = Field(default=None, max_length=16)
    # How often members are asked for a value story: quarterly, half-yearly or never.
    stories_period: str = Field(
        default="quarterly", max_length=16, sa_column_kwargs={"server_default": "quarterly"}
    )
    updated_by: str = Field(max_length=SLACK_ID)
    updated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class HealthPicture(Table, table=True):
    """The latest uploaded picture of each kind for a community: App Home shows these."""

    __tablename__ = "health_pictures"
    __table_args__ = (UniqueConstraint("community_id", "kind", name="uq_health_picture_kind"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=SLACK_ID)
    community_id: int = Field(foreign_key="communities.id", ondelete="CASCADE")
    kind: str = Field(max_length=32)
    file_id: str = Field(max_length=SLACK_ID)
    title: str = Field(max_length=200)
    alt_text: str = Field(max_length=1000)
    drawn_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class Perspective(Table, table=True):
    """An external expert or guest speaker invited to bring a new perspective."""

    __tablename__ = "perspectives"
    __table_args__ = (Index("ix_perspective_community_day", "community_id", "day"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=SLACK_ID)
    community_id: int = Field(foreign_key="communities.id", ondelete="CASCADE")
    guest: str = Field(max_length=150)
    organisation: str = Field(default="", max_length=150)
    topic: str = Field(max_length=300)
    day: date
    logged_by: str = Field(max_length=SLACK_ID)
    logged_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class Invitation(Table, table=True):
    """A ready-made invitation to join a community, as a coordinator posted it somewhere."""

    __tablename__ = "invitations"

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=SLACK_ID)
    community_id: int = Field(foreign_key="communities.id", ondelete="CASCADE", index=True)
    channel_id: str = Field(max_length=SLACK_ID)  # where it was posted
    posted_by: str = Field(max_length=SLACK_ID)
    posted_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    ts: str | None = Field(default=None, max_length=32)  # the message, once posted


class InvitationClick(Table, table=True):
    """Someone pressed Join on an invitation: with the membership that began after it, what
    counts as joining through the invitation."""

    __tablename__ = "invitation_clicks"
    __table_args__ = (UniqueConstraint("invitation_id", "user_id", name="uq_invitation_click"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=SLACK_ID)
    community_id: int = Field(foreign_key="communities.id", ondelete="CASCADE", index=True)
    invitation_id: int = Field(foreign_key="invitations.id", ondelete="CASCADE")
    user_id: str = Field(max_length=SLACK_ID)
    clicked_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class Closure(Table, table=True):
    """How and when a community closes, as a coordinator set it with `/cop close`."""

    __tablename__ = "closures"
    # One closure per community: a double click on the form closes nothing twice.
    __table_args__ = (UniqueConstraint("community_id", name="uq_closure_community"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=SLACK_ID)
    community_id: int = Field(foreign_key="communities.id", ondelete="CASCADE")
    reason: str = Field(max_length=16)  # concluded, split, other
    note: str = Field(default="", sa_column=Column(Text, nullable=False))
    closing_date: date  # the celebration's day, in the community's time zone
    capture_days: int
    recipients: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    recipient_channel: str | None = Field(default=None, max_length=SLACK_ID)
    closed_by: str = Field(max_length=SLACK_ID)
    started_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    celebrated_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime(), nullable=True)
    )
    # The archive's last upload, so sub-communities and late joiners can be pointed to it.
    archive_file_id: str | None = Field(default=None, max_length=32)
    archive_permalink: str | None = Field(default=None, max_length=500)


class KnowledgeCapture(Table, table=True):
    """One answer to "Share what you learned". A person may answer again: every answer is kept,
    and the newest version is the one the archive shows."""

    __tablename__ = "knowledge_captures"
    __table_args__ = (
        UniqueConstraint("closure_id", "user_id", "version", name="uq_knowledge_capture_version"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=SLACK_ID)
    community_id: int = Field(foreign_key="communities.id", ondelete="CASCADE")
    closure_id: int = Field(foreign_key="closures.id", ondelete="CASCADE", index=True)
    user_id: str = Field(max_length=SLACK_ID)
    version: int
    answers: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    submitted_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class CalendarFeed(Table, table=True):
    """One person's private calendar address for one community's meetings
    (`/cop calendar`). Only the SHA-256 of the address's secret is kept, so the database
    alone cannot subscribe: the address is shown to its person once, when made. Making a new
    one replaces it; a coordinator can revoke every one of the community's."""

    __tablename__ = "calendar_feeds"
    __table_args__ = (
        UniqueConstraint("community_id", "user_id", name="uq_calendar_feed_person"),
        Index("ix_calendar_feed_token", "token_hash", unique=True),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=SLACK_ID)
    community_id: int = Field(foreign_key="communities.id", ondelete="CASCADE")
    user_id: str = Field(max_length=SLACK_ID)
    token_hash: str = Field(max_length=64)  # hex SHA-256 of the secret in the address
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class ValueStory(Table, table=True):
    """One member's value story for one period (a quarter, or half a year): their answers to
    the value-creation questions (`bot.services.stories.VALUE_KINDS`) and whether it may be
    shared, with their name, without it, or not at all. Answering again in the same period
    updates it."""

    __tablename__ = "value_stories"
    __table_args__ = (
        UniqueConstraint("community_id", "user_id", "period", name="uq_value_story_period"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=SLACK_ID)
    community_id: int = Field(foreign_key="communities.id", ondelete="CASCADE", index=True)
    user_id: str = Field(max_length=SLACK_ID)
    period: str = Field(max_length=16)  # e.g. "2026-Q4", "2027-H1": the period it is about
    answers: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    consent: str = Field(max_length=16)  # named, unnamed, private
    answered_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class MeetingAction(Table, table=True):
    """One action agreed at a meeting (its notes' actions, one a line): who does it, by when,
    and whether it is done. The one record of a meeting's actions."""

    __tablename__ = "meeting_actions"
    __table_args__ = (
        Index("ix_meeting_action_occurrence", "occurrence_id", "position"),
        Index("ix_meeting_action_community", "community_id", "due"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=SLACK_ID)
    community_id: int = Field(foreign_key="communities.id", ondelete="CASCADE")
    occurrence_id: int = Field(foreign_key="meeting_occurrences.id", ondelete="CASCADE")
    position: int  # its line in the notes, from 0
    text: str = Field(sa_column=Column(Text, nullable=False))  # as typed: escape before posting
    owner: str | None = Field(default=None, max_length=SLACK_ID)
    due: date | None = None  # a calendar date, in the community's time zone
    # Bumped whenever the owner or the due date changes: the owner's message and the
    # reminder are keyed by it, so each change plans them afresh.
    version: int = 0
    done_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    done_by: str | None = Field(default=None, max_length=SLACK_ID)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    # The owner's message with its Done button, changed in place when it is done.
    dm_channel: str | None = Field(default=None, max_length=SLACK_ID)
    dm_ts: str | None = Field(default=None, max_length=32)


class LibraryEntry(Table, table=True):
    """One piece of a community's knowledge, kept because someone chose to: a message saved
    with the *Save to knowledge* shortcut, or an answer to the monthly "What did we
    learn?" prompt. Its text is in Slack's markup (`&lt;` for a typed `<`, `<@U…>` for a
    mention), as the message had it; nothing else of any message is ever stored."""

    __tablename__ = "library_entries"
    __table_args__ = (
        # A message is saved once; a person's answer for a month is one entry.
        UniqueConstraint("community_id", "message_ts", name="uq_library_entry_message"),
        UniqueConstraint("community_id", "period", "author", name="uq_library_entry_period"),
        Index("ix_library_entry_community_saved", "community_id", "saved_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=SLACK_ID)
    community_id: int = Field(foreign_key="communities.id", ondelete="CASCADE")
    title: str = Field(max_length=150)
    tags: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    text: str = Field(sa_column=Column(Text, nullable=False))
    author: str = Field(max_length=SLACK_ID)
    # A saved message's channel, timestamp and link; None for an answer to the monthly prompt.
    channel_id: str | None = Field(default=None, max_length=SLACK_ID)
    message_ts: str | None = Field(default=None, max_length=32)
    permalink: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    # The month an answer to the monthly prompt is for ("2027-03"); None for a saved message.
    period: str | None = Field(default=None, max_length=16)
    saved_by: str = Field(max_length=SLACK_ID)
    saved_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
