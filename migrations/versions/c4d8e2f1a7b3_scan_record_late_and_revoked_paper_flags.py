"""Two flags on verification records officers see: a record that arrived long after its claimed
scan time, and a paper code scanned before its loss was reported.

Revision ID: c4d8e2f1a7b3
Revises: a7c3e91d2b40
Create Date: 2026-12-07 04:05:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c4d8e2f1a7b3'
down_revision = 'a7c3e91d2b40'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('verification_record', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('late_arrival', sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.add_column(
            sa.Column('revoked_paper', sa.Boolean(), server_default=sa.false(), nullable=False)
        )


def downgrade():
    with op.batch_alter_table('verification_record', schema=None) as batch_op:
        batch_op.drop_column('revoked_paper')
        batch_op.drop_column('late_arrival')
