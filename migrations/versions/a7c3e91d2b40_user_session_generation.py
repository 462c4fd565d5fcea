"""A session generation on every account: raising it ends the account's sessions (logout, a new
password, a reset, deactivation, a role change), copied cookies included.

Revision ID: a7c3e91d2b40
Revises: b7c3e1a9d402
Create Date: 2026-12-07 03:10:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a7c3e91d2b40'
down_revision = 'b7c3e1a9d402'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('session_generation', sa.Integer(), server_default='0', nullable=False)
        )


def downgrade():
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.drop_column('session_generation')
