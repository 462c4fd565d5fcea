"""Holder search by the start of the name and the tail of the document number: the number
kept reversed beside it, and an index of each per district (pattern operators on PostgreSQL),
which replace the index of the district alone.

Revision ID: a7c3e1f09b21
Revises: 5b1e0c2a9d47
Create Date: 2026-12-07 03:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a7c3e1f09b21'
down_revision = '5b1e0c2a9d47'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('holder', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('doc_number_reversed', sa.String(length=32), server_default='', nullable=False)
        )
    connection = op.get_bind()
    if connection.dialect.name == 'postgresql':
        connection.execute(sa.text('UPDATE holder SET doc_number_reversed = reverse(doc_number)'))
    else:
        # SQLite has no reverse(): each number is turned round here.
        holder = sa.table('holder', sa.column('id'), sa.column('doc_number'), sa.column('doc_number_reversed'))
        rows = connection.execute(sa.select(holder.c.id, holder.c.doc_number)).all()
        for row_id, number in rows:
            connection.execute(
                holder.update().where(holder.c.id == row_id).values(doc_number_reversed=number[::-1])
            )
    with op.batch_alter_table('holder', schema=None) as batch_op:
        batch_op.create_index(
            'ix_holder_district_name', ['district_code', 'name'], unique=False,
            postgresql_ops={'name': 'varchar_pattern_ops'},
        )
        batch_op.create_index(
            'ix_holder_district_doc_tail', ['district_code', 'doc_number_reversed'], unique=False,
            postgresql_ops={'doc_number_reversed': 'varchar_pattern_ops'},
        )
        # The district's name index leads with the district: it serves a district alone too.
        batch_op.drop_index('ix_holder_district_code')


def downgrade():
    with op.batch_alter_table('holder', schema=None) as batch_op:
        batch_op.create_index('ix_holder_district_code', ['district_code'], unique=False)
        batch_op.drop_index('ix_holder_district_doc_tail')
        batch_op.drop_index('ix_holder_district_name')
        batch_op.drop_column('doc_number_reversed')
