"""attendance: roll-calls, attendance exceptions, leave requests, dropout cases and their ledger

Revision ID: 0003_attendance
Revises: 0002_broadcast
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import db.base

revision: str = "0003_attendance"
down_revision: str | None = "0002_broadcast"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "roll_call",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("class_id", sa.Integer(), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("submitted_by", sa.Integer(), nullable=True),
        sa.Column("submitted_at", db.base.UTCDateTime(), nullable=False),
        sa.Column("after_cutoff", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["class_id"],
            ["school_class.id"],
            name=op.f("fk_roll_call_class_id_school_class"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["school_id"], ["school.id"], name=op.f("fk_roll_call_school_id_school"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["submitted_by"],
            ["person.id"],
            name=op.f("fk_roll_call_submitted_by_person"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_roll_call")),
        sa.UniqueConstraint("class_id", "day", name=op.f("uq_roll_call_class_id_day")),
    )
    op.create_index("ix_roll_call_school_day", "roll_call", ["school_id", "day"], unique=False)
    op.create_table(
        "dropout_case",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("student_id", sa.Integer(), nullable=False),
        sa.Column("class_id", sa.Integer(), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.Column("region_id", sa.Integer(), nullable=False),
        sa.Column(
            "trigger",
            sa.Enum("consecutive", "rate", name="case_trigger", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column(
            "status",
            sa.Enum("open", "closed", name="case_status", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("assignee_id", sa.Integer(), nullable=True),
        sa.Column("opened_on", sa.Date(), nullable=False),
        sa.Column("opened_at", db.base.UTCDateTime(), nullable=False),
        sa.Column("last_activity_on", sa.Date(), nullable=False),
        sa.Column("closed_at", db.base.UTCDateTime(), nullable=True),
        sa.Column(
            "outcome",
            sa.Enum(
                "opened",
                "escalated",
                "contacted",
                "home_visit",
                "returned",
                "not_dropout",
                "dropout_reported",
                name="case_outcome",
                native_enum=False,
                length=32,
            ),
            nullable=True,
        ),
        sa.Column(
            "not_dropout_reason",
            sa.Enum(
                "under_age_or_deferred",
                "aged_or_graduated",
                "on_leave_or_suspended",
                "home_teaching",
                "unable_to_study",
                "missing",
                "studying_elsewhere",
                name="not_dropout_reason",
                native_enum=False,
                length=32,
            ),
            nullable=True,
        ),
        sa.ForeignKeyConstraint(
            ["assignee_id"],
            ["person.id"],
            name=op.f("fk_dropout_case_assignee_id_person"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["class_id"],
            ["school_class.id"],
            name=op.f("fk_dropout_case_class_id_school_class"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["region_id"], ["region.id"], name=op.f("fk_dropout_case_region_id_region"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["school_id"], ["school.id"], name=op.f("fk_dropout_case_school_id_school"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["student_id"],
            ["student.id"],
            name=op.f("fk_dropout_case_student_id_student"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dropout_case")),
    )
    op.create_index("ix_dropout_case_region_status", "dropout_case", ["region_id", "status"], unique=False)
    op.create_index("ix_dropout_case_school_status", "dropout_case", ["school_id", "status"], unique=False)
    op.create_index(op.f("ix_dropout_case_student_id"), "dropout_case", ["student_id"], unique=False)
    op.create_index(
        "uq_dropout_case_open_student",
        "dropout_case",
        ["student_id"],
        unique=True,
        sqlite_where=sa.text("status = 'open'"),
        postgresql_where=sa.text("status = 'open'"),
    )
    op.create_table(
        "leave_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("student_id", sa.Integer(), nullable=False),
        sa.Column("requested_by", sa.Integer(), nullable=True),
        sa.Column(
            "kind",
            sa.Enum("sick", "personal", name="leave_kind", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("first_day", sa.Date(), nullable=False),
        sa.Column("last_day", sa.Date(), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=True),
        sa.Column(
            "status",
            sa.Enum("pending", "approved", "rejected", name="leave_status", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("decided_by", sa.Integer(), nullable=True),
        sa.Column("decided_at", db.base.UTCDateTime(), nullable=True),
        sa.Column("created_at", db.base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["decided_by"],
            ["person.id"],
            name=op.f("fk_leave_request_decided_by_person"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["requested_by"],
            ["person.id"],
            name=op.f("fk_leave_request_requested_by_person"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["student_id"],
            ["student.id"],
            name=op.f("fk_leave_request_student_id_student"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_leave_request")),
    )
    op.create_index(op.f("ix_leave_request_student_id"), "leave_request", ["student_id"], unique=False)
    op.create_table(
        "attendance_record",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("student_id", sa.Integer(), nullable=False),
        sa.Column("class_id", sa.Integer(), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "absent", "sick", "personal", "late", name="attendance_mark", native_enum=False, length=32
            ),
            nullable=False,
        ),
        sa.Column(
            "source",
            sa.Enum("rollcall", "leave", "guardian", name="attendance_source", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("reason", sa.String(length=200), nullable=True),
        sa.Column("reported_by", sa.Integer(), nullable=True),
        sa.Column("at", db.base.UTCDateTime(), nullable=False),
        sa.Column("leave_id", sa.Integer(), nullable=True),
        sa.Column("alerted_at", db.base.UTCDateTime(), nullable=True),
        sa.Column(
            "guardian_answer",
            sa.Enum(
                "sick",
                "personal",
                "unknown",
                "on_the_way",
                name="guardian_answer",
                native_enum=False,
                length=32,
            ),
            nullable=True,
        ),
        sa.Column("answered_by", sa.Integer(), nullable=True),
        sa.Column("answered_at", db.base.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["answered_by"],
            ["person.id"],
            name=op.f("fk_attendance_record_answered_by_person"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["class_id"],
            ["school_class.id"],
            name=op.f("fk_attendance_record_class_id_school_class"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["leave_id"],
            ["leave_request.id"],
            name=op.f("fk_attendance_record_leave_id_leave_request"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["reported_by"],
            ["person.id"],
            name=op.f("fk_attendance_record_reported_by_person"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["school_id"],
            ["school.id"],
            name=op.f("fk_attendance_record_school_id_school"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["student_id"],
            ["student.id"],
            name=op.f("fk_attendance_record_student_id_student"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attendance_record")),
        sa.UniqueConstraint("student_id", "day", name=op.f("uq_attendance_record_student_id_day")),
    )
    op.create_index("ix_attendance_record_class_day", "attendance_record", ["class_id", "day"], unique=False)
    op.create_index(
        "ix_attendance_record_school_day_status",
        "attendance_record",
        ["school_id", "day", "status"],
        unique=False,
    )
    op.create_table(
        "case_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("at", db.base.UTCDateTime(), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column(
            "kind",
            sa.Enum(
                "opened",
                "escalated",
                "contacted",
                "home_visit",
                "returned",
                "not_dropout",
                "dropout_reported",
                name="case_event_kind",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["person.id"], name=op.f("fk_case_event_actor_id_person"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["dropout_case.id"],
            name=op.f("fk_case_event_case_id_dropout_case"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_event")),
    )
    op.create_index(op.f("ix_case_event_case_id"), "case_event", ["case_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_case_event_case_id"), table_name="case_event")
    op.drop_table("case_event")
    op.drop_index("ix_attendance_record_school_day_status", table_name="attendance_record")
    op.drop_index("ix_attendance_record_class_day", table_name="attendance_record")
    op.drop_table("attendance_record")
    op.drop_index(op.f("ix_leave_request_student_id"), table_name="leave_request")
    op.drop_table("leave_request")
    op.drop_index(
        "uq_dropout_case_open_student",
        table_name="dropout_case",
        sqlite_where=sa.text("status = 'open'"),
        postgresql_where=sa.text("status = 'open'"),
    )
    op.drop_index(op.f("ix_dropout_case_student_id"), table_name="dropout_case")
    op.drop_index("ix_dropout_case_school_status", table_name="dropout_case")
    op.drop_index("ix_dropout_case_region_status", table_name="dropout_case")
    op.drop_table("dropout_case")
    op.drop_index("ix_roll_call_school_day", table_name="roll_call")
    op.drop_table("roll_call")
