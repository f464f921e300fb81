"""agreement acceptances (real-name registration agreements)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""
from alembic import op
import sqlalchemy as sa

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "agreement_acceptances",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("person_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("version", sa.String(length=16), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["person_id"], ["persons.id"],
                                name=op.f("fk_agreement_acceptances_person_id_persons"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agreement_acceptances")),
    )
    with op.batch_alter_table("agreement_acceptances", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_agreement_acceptances_person_id"), ["person_id"],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table("agreement_acceptances", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_agreement_acceptances_person_id"))
    op.drop_table("agreement_acceptances")
