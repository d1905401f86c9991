"""pupils' enrolment status with its history; longer leave reasons and the reason for a refusal.

A pupil is 在读 (enrolled), 休学, 转学, 毕业 or 辍学, from a date; only enrolled pupils are in
roll-calls, alerts and rates. `student.active` stays as the filter every pupil list uses and is
kept equal to `enrolment = 'enrolled'`. Existing inactive pupils have no known reason: they are
recorded as transferred (转学), the roster import's meaning of leaving the list.

Revision ID: 0011_enrolment_and_leave
Revises: 0010_held_for_reply
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import db.base

revision: str = "0011_enrolment_and_leave"
down_revision: str | None = "0010_held_for_reply"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("student", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("enrolment", sa.String(length=32), nullable=False, server_default="enrolled")
        )
        batch_op.add_column(sa.Column("enrolment_since", sa.Date(), nullable=True))
    op.execute(sa.text("UPDATE student SET enrolment = 'transferred' WHERE active = false"))
    op.create_table(
        "enrolment_change",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("student_id", sa.Integer(), nullable=False),
        sa.Column("enrolment", sa.String(length=32), nullable=False),
        sa.Column("since", sa.Date(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=True),
        sa.Column("set_by", sa.Integer(), nullable=True),
        sa.Column("created_at", db.base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["student_id"],
            ["student.id"],
            name=op.f("fk_enrolment_change_student_id_student"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["set_by"], ["person.id"], name=op.f("fk_enrolment_change_set_by_person"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enrolment_change")),
    )
    with op.batch_alter_table("enrolment_change", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_enrolment_change_student_id"), ["student_id"], unique=False)
    with op.batch_alter_table("leave_request", schema=None) as batch_op:
        batch_op.alter_column(
            "reason",
            existing_type=sa.String(length=200),
            type_=sa.String(length=1000),
            existing_nullable=True,
        )
        batch_op.add_column(sa.Column("decision_note", sa.String(length=500), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("leave_request", schema=None) as batch_op:
        batch_op.drop_column("decision_note")
        batch_op.alter_column(
            "reason",
            existing_type=sa.String(length=1000),
            type_=sa.String(length=200),
            existing_nullable=True,
        )
    op.drop_table("enrolment_change")
    with op.batch_alter_table("student", schema=None) as batch_op:
        batch_op.drop_column("enrolment_since")
        batch_op.drop_column("enrolment")
