"""When a pre-entry's actual arrival was recorded (a checkpoint's scan, an officer's
confirmation): the day a reason names as its source.

Revision ID: 3c1f2a9d8e47
Revises: 10566fc70e97
Create Date: 2026-12-07 03:30:00.000000

"""
from alembic import op
import sqlalchemy as sa

import gantong.models


# revision identifiers, used by Alembic.
revision = '3c1f2a9d8e47'
down_revision = '10566fc70e97'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('pre_entry', schema=None) as batch_op:
        batch_op.add_column(sa.Column('arrival_noted_at', gantong.models.UTCDateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('pre_entry', schema=None) as batch_op:
        batch_op.drop_column('arrival_noted_at')
