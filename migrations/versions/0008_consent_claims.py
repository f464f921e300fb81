"""consents: the claims a person allowed one by name, beyond those of the consented scopes

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04

A remembered consent used to be compared by scope only, so a later request naming other
claims in its `claims` parameter was answered without asking. Existing rows start with no
such claims: they cover what their scopes cover, exactly what their consent page listed.
"""
from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('consents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('claims', sa.JSON(), nullable=False,
                                      server_default=sa.text("'[]'")))


def downgrade() -> None:
    with op.batch_alter_table('consents', schema=None) as batch_op:
        batch_op.drop_column('claims')
