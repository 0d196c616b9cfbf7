"""The scheduler process's tables (not tenant-scoped: one scheduler serves every tenant).

``scheduler_leases`` holds one row per lock name (``scheduler``): the active process
(owner, host, pid) and its heartbeat. On SQLite the row *is* the leader lock (taken by
a conditional UPDATE when free or expired); on PostgreSQL the lock is an advisory lock
and the row only says who holds it, so that the connectors screen reads the same
state on both. ``scheduler_processes`` lists every scheduler process alive (active or
standby) with the moment it was last seen. ``apscheduler_jobs`` is APScheduler 3's
SQLAlchemy job store table, declared here so that migrations create it and the
tests empty it like every table.
"""
from datetime import datetime

from sqlalchemy import Column, DateTime, Float, Integer, LargeBinary, String, Unicode
from sqlalchemy.orm import Mapped, mapped_column

from core.extensions import db
from models.base import utcnow

APSCHEDULER_JOBS = db.Table(
    "apscheduler_jobs",
    Column("id", Unicode(191), primary_key=True),
    Column("next_run_time", Float(25), index=True),
    Column("job_state", LargeBinary, nullable=False),
)


class SchedulerLease(db.Model):
    __tablename__ = "scheduler_leases"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    owner: Mapped[str] = mapped_column(String(100))
    host: Mapped[str] = mapped_column(String(100), default="")
    pid: Mapped[int] = mapped_column(Integer, default=0)
    acquired_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    heartbeat_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class SchedulerProcess(db.Model):
    __tablename__ = "scheduler_processes"

    owner: Mapped[str] = mapped_column(String(100), primary_key=True)
    host: Mapped[str] = mapped_column(String(100), default="")
    pid: Mapped[int] = mapped_column(Integer, default=0)
    role: Mapped[str] = mapped_column(String(10), default="standby")  # active / standby
    started_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    seen_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
