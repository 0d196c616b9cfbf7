"""Connector engines: the kinds, their runs and reports, the one-run-at-a-time lease.

Engines never import ``views`` or ``jobs``; both call engines.
"""
