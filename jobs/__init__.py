"""Scheduler process (issue #12): thin jobs around the exchange engines."""
