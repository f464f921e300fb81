"""client logo: the image an administrator registers for a relying party

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05

The sign-in and consent pages name the service that is asking and show its logo. The
logo (PNG or JPEG, at most 64 KB, checked when registered) is kept with the client and
served from the provider's own origin, so the pages' CSP stays `img-src 'self'` and the
relying party learns nothing from a person opening the sign-in page.
"""
from alembic import op
import sqlalchemy as sa



revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('clients', schema=None) as batch_op:
        batch_op.add_column(sa.Column('logo', sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('clients', schema=None) as batch_op:
        batch_op.drop_column('logo')
