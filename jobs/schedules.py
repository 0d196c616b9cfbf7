"""The schedule parser lives in ``exchange.schedules`` (the connector form validates with it);
re-exported here for what imported it from ``jobs``."""
from exchange.schedules import ScheduleError, job_id, next_fire_times, parse, wanted_jobs

__all__ = ["ScheduleError", "job_id", "next_fire_times", "parse", "wanted_jobs"]
