"""channels: the app's device keys; channel clients' metadata (CIBA, front-channel logout)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05

The official app enrols a device key after sign-in and then approves other channels'
requests with it: `app_devices` holds the public key only. Clients say which channel they
serve (web, app, kiosk, hotline), and CIBA clients how tokens are delivered (OpenID CIBA
Core 4); browser RPs may register a front-channel logout URI (OpenID Front-Channel
Logout 1.0).
"""
from alembic import op
import sqlalchemy as sa



revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('clients', schema=None) as batch_op:
        batch_op.add_column(sa.Column('channel', sa.String(length=16), nullable=False,
                                      server_default='web'))
        batch_op.add_column(sa.Column('backchannel_token_delivery_mode', sa.String(length=8),
                                      nullable=True))
        batch_op.add_column(sa.Column('backchannel_client_notification_endpoint',
                                      sa.String(length=512), nullable=True))
        batch_op.add_column(sa.Column('backchannel_user_code_parameter', sa.Boolean(),
                                      nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('frontchannel_logout_uri', sa.String(length=512),
                                      nullable=True))
    op.create_table(
        'app_devices',
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('person_id', sa.String(length=36), nullable=False),
        sa.Column('name', sa.String(length=64), nullable=False),
        sa.Column('public_jwk', sa.JSON(), nullable=False),
        sa.Column('thumbprint', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['person_id'], ['persons.id'],
                                name=op.f('fk_app_devices_person_id_persons'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_app_devices')),
        sa.UniqueConstraint('thumbprint', name=op.f('uq_app_devices_thumbprint')),
    )
    with op.batch_alter_table('app_devices', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_app_devices_person_id'), ['person_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('app_devices', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_app_devices_person_id'))
    op.drop_table('app_devices')
    with op.batch_alter_table('clients', schema=None) as batch_op:
        batch_op.drop_column('frontchannel_logout_uri')
        batch_op.drop_column('backchannel_user_code_parameter')
        batch_op.drop_column('backchannel_client_notification_endpoint')
        batch_op.drop_column('backchannel_token_delivery_mode')
        batch_op.drop_column('channel')
