"""the sponsor report names stakeholders only when a coordinator says it may

Revision ID: 0012
Revises: 0010
Create Date: 2026-12-01 18:55:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("sustaining_settings") as batch:
        batch.add_column(
            sa.Column(
                "report_names_stakeholders", sa.Boolean(), server_default=sa.false(), nullable=False
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("sustaining_settings") as batch:
        batch.drop_column("report_names_stakeholders")
