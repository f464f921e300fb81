"""signing keys: at most one `next` key per algorithm; clients: signed userinfo, jwks_uri

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23

Rotation now promotes a key published beforehand (`next`) instead of activating a key no
RP has seen; like the active key, there is at most one per algorithm. Clients may ask for
userinfo as a signed JWT, and publish their keys at a `jwks_uri`.
"""
from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

ONE_NEXT = sa.text("state = 'next'")


def upgrade() -> None:
    with op.batch_alter_table('signing_keys', schema=None) as batch_op:
        batch_op.create_index('uq_signing_keys_next_alg', ['alg'], unique=True,
                              postgresql_where=ONE_NEXT, sqlite_where=ONE_NEXT)
    with op.batch_alter_table('clients', schema=None) as batch_op:
        batch_op.add_column(sa.Column('userinfo_signed_response_alg', sa.String(length=16),
                                      nullable=True))
        batch_op.add_column(sa.Column('jwks_uri', sa.String(length=512), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('clients', schema=None) as batch_op:
        batch_op.drop_column('jwks_uri')
        batch_op.drop_column('userinfo_signed_response_alg')
    with op.batch_alter_table('signing_keys', schema=None) as batch_op:
        batch_op.drop_index('uq_signing_keys_next_alg')
