"""Devices and holder credentials (the code on the phone); the colour version; dynamic numbers
derived instead of registered (the dynamic_number table goes).

Revision ID: b18e5a0c3d21
Revises: c4d8e2f1a7b3
Create Date: 2026-12-07 12:10:00.000000

"""
from alembic import op
import sqlalchemy as sa

import gantong.models


# revision identifiers, used by Alembic.
revision = 'b18e5a0c3d21'
down_revision = 'c4d8e2f1a7b3'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'device',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('account_id', sa.Integer(), nullable=False),
        sa.Column('public_key', sa.LargeBinary(length=33), nullable=False),
        sa.Column('label', sa.String(length=60), nullable=False),
        sa.Column('created_at', gantong.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column('last_used_at', gantong.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column('removed_at', gantong.models.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['account_id'], ['user.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('account_id', 'public_key'),
    )
    with op.batch_alter_table('device', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_device_account_id'), ['account_id'], unique=False)
    op.create_table(
        'holder_credential',
        sa.Column('id', sa.String(length=16), nullable=False),
        sa.Column('holder_id', sa.Integer(), nullable=False),
        sa.Column('device_id', sa.Integer(), nullable=False),
        sa.Column('colour', sa.String(length=6), nullable=False),
        sa.Column('colour_version', sa.Integer(), nullable=False),
        sa.Column('valid_from', gantong.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column('valid_until', gantong.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column('renew_after', gantong.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column('signed', sa.LargeBinary(length=140), nullable=False),
        sa.ForeignKeyConstraint(['device_id'], ['device.id']),
        sa.ForeignKeyConstraint(['holder_id'], ['holder.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('holder_credential', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_holder_credential_device_id'), ['device_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_holder_credential_holder_id'), ['holder_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_holder_credential_valid_until'), ['valid_until'], unique=False)
    with op.batch_alter_table('holder', schema=None) as batch_op:
        batch_op.add_column(sa.Column('colour_version', sa.Integer(), server_default='0', nullable=False))
    op.drop_table('dynamic_number')


def downgrade():
    op.create_table(
        'dynamic_number',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('number', sa.String(length=8), nullable=False),
        sa.Column('holder_id', sa.Integer(), nullable=False),
        sa.Column('valid_from', gantong.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column('valid_until', gantong.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['holder_id'], ['holder.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('dynamic_number', schema=None) as batch_op:
        batch_op.create_index('ix_dynamic_number_holder_id', ['holder_id'], unique=False)
        batch_op.create_index('ix_dynamic_number_number', ['number'], unique=False)
        batch_op.create_index('ix_dynamic_number_valid_until', ['valid_until'], unique=False)
    with op.batch_alter_table('holder', schema=None) as batch_op:
        batch_op.drop_column('colour_version')
    op.drop_table('holder_credential')
    op.drop_table('device')
