"""A point's mode, record or verify only, and whether a verify-only point keeps a record of each
scan; existing points stay in record mode (the server defaults).

Revision ID: 5b1e0c2a9d47
Revises: 66cc819cf650
Create Date: 2026-12-07 03:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5b1e0c2a9d47'
down_revision = '66cc819cf650'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('information_point', schema=None) as batch_op:
        batch_op.add_column(sa.Column('mode', sa.String(length=8), server_default='record', nullable=False))
        batch_op.add_column(sa.Column('keeps_records', sa.Boolean(), server_default=sa.true(), nullable=False))


def downgrade():
    with op.batch_alter_table('information_point', schema=None) as batch_op:
        batch_op.drop_column('keeps_records')
        batch_op.drop_column('mode')
