"""Business rules: plain functions over models and values, no Flask request.

A row rule takes ``(values, tenant_id, row_id)`` where ``values`` maps field names
to the submitted values (relations as model instances) and returns
``{field: message}`` for every broken rule, so a screen or an import can show
them all at once next to their fields.
"""
