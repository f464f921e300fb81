"""organizations (legal persons), memberships, agent authorisations

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24
"""
from alembic import op
import sqlalchemy as sa

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "organizations",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("uscc", sa.String(length=18), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("registered_by", sa.String(length=36), nullable=True),
        sa.Column("legal_rep_index", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("verified_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["registered_by"], ["persons.id"],
                                name=op.f("fk_organizations_registered_by_persons"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organizations")),
        sa.UniqueConstraint("uscc", name=op.f("uq_organizations_uscc")),
    )
    with op.batch_alter_table("organizations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_organizations_legal_rep_index"), ["legal_rep_index"],
                              unique=False)

    op.create_table(
        "memberships",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("organization_id", sa.String(length=36), nullable=False),
        sa.Column("person_id", sa.String(length=36), nullable=False),
        sa.Column("role", sa.String(length=24), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("role IN ('legal_representative', 'admin', 'agent')",
                           name=op.f("ck_memberships_role")),
        sa.ForeignKeyConstraint(["organization_id"], ["organizations.id"],
                                name=op.f("fk_memberships_organization_id_organizations"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["person_id"], ["persons.id"],
                                name=op.f("fk_memberships_person_id_persons"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_memberships")),
        sa.UniqueConstraint("organization_id", "person_id",
                            name=op.f("uq_memberships_organization_id")),
    )
    with op.batch_alter_table("memberships", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_memberships_person_id"), ["person_id"], unique=False)

    op.create_table(
        "agent_authorisations",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("membership_id", sa.String(length=36), nullable=False),
        sa.Column("granted_by", sa.String(length=36), nullable=True),
        sa.Column("scopes", sa.JSON(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["granted_by"], ["persons.id"],
                                name=op.f("fk_agent_authorisations_granted_by_persons"),
                                ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["membership_id"], ["memberships.id"],
                                name=op.f("fk_agent_authorisations_membership_id_memberships"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agent_authorisations")),
    )
    with op.batch_alter_table("agent_authorisations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_agent_authorisations_membership_id"),
                              ["membership_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("agent_authorisations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_agent_authorisations_membership_id"))
    op.drop_table("agent_authorisations")
    with op.batch_alter_table("memberships", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_memberships_person_id"))
    op.drop_table("memberships")
    with op.batch_alter_table("organizations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_organizations_legal_rep_index"))
    op.drop_table("organizations")
