"""Index of a point's records by time: the station page's newest records and today's count
read them in index order instead of sorting all of the point's records.

Revision ID: 10566fc70e97
Revises: 78293bfaa252
Create Date: 2026-12-02 01:00:34.352262

"""
from alembic import op
import sqlalchemy as sa

import gantong.models


# revision identifiers, used by Alembic.
revision = '10566fc70e97'
down_revision = '78293bfaa252'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('verification_record', schema=None) as batch_op:
        batch_op.create_index('ix_verification_record_point_time', ['point_id', 'verified_at'], unique=False)



def downgrade():
    with op.batch_alter_table('verification_record', schema=None) as batch_op:
        batch_op.drop_index('ix_verification_record_point_time')

