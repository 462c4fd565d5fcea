"""Holder search by the start of the name whatever its case: the district's name index is of
lower(name) (text_pattern_ops on PostgreSQL), as the search now compares lower(name).

Revision ID: 7e2a9c4b1d63
Revises: 56b4cf0b7f54
Create Date: 2026-12-07 15:10:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '7e2a9c4b1d63'
down_revision = '56b4cf0b7f54'
branch_labels = None
depends_on = None


def upgrade():
    op.drop_index('ix_holder_district_name', table_name='holder')
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(
            'CREATE INDEX ix_holder_district_name ON holder'
            ' (district_code, lower(name) text_pattern_ops)'
        )
    else:
        op.execute('CREATE INDEX ix_holder_district_name ON holder (district_code, lower(name))')


def downgrade():
    op.drop_index('ix_holder_district_name', table_name='holder')
    op.create_index(
        'ix_holder_district_name', 'holder', ['district_code', 'name'], unique=False,
        postgresql_ops={'name': 'varchar_pattern_ops'},
    )
