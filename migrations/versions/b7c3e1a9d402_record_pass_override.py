"""A record's pass for a yellow or red code is an explicit override of the colour, and says so.

Revision ID: b7c3e1a9d402
Revises: ac6c70567b24
Create Date: 2026-12-07 03:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b7c3e1a9d402'
down_revision = 'ac6c70567b24'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('verification_record', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('pass_override', sa.Boolean(), server_default=sa.false(), nullable=False)
        )


def downgrade():
    with op.batch_alter_table('verification_record', schema=None) as batch_op:
        batch_op.drop_column('pass_override')
