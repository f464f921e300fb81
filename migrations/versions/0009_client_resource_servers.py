"""clients: the resource servers named in a client's access tokens, which may introspect them

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04

Any confidential client could introspect any token. Now only the token's own client may,
and the resource servers registered for it (named in its access tokens' `aud`).
"""
from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('clients', schema=None) as batch_op:
        batch_op.add_column(sa.Column('resource_servers', sa.JSON(), nullable=False,
                                      server_default=sa.text("'[]'")))


def downgrade() -> None:
    with op.batch_alter_table('clients', schema=None) as batch_op:
        batch_op.drop_column('resource_servers')
