"""The account's language, for its text messages (Chinese for the accounts made before).

Revision ID: b4d2f6a81c57
Revises: a7c3e1f09b21
Create Date: 2026-12-07 03:10:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b4d2f6a81c57'
down_revision = 'a7c3e1f09b21'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('language', sa.String(length=5), server_default='zh', nullable=False)
        )


def downgrade():
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.drop_column('language')
