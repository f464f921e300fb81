"""account closure: when a closure a person asked for takes effect

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05

A person may close their account (注销) from the account centre. The closure waits a
cooling-off period (IDP_ACCOUNT_CLOSURE_DAYS) during which signing in offers to cancel
it; `idp accounts close-due` closes the accounts whose time has come. Existing rows have
no closure pending.
"""
from alembic import op
import sqlalchemy as sa


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('persons', schema=None) as batch_op:
        batch_op.add_column(sa.Column('closure_due_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('persons', schema=None) as batch_op:
        batch_op.drop_column('closure_due_at')
