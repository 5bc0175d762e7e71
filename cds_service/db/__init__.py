"""Storage: issued-card records, clinicians' feedback, JWT replay ids.

``tables`` (the schema as code), ``engine`` (URLs, per-backend tuning, ``ping``), ``migrate``
and ``migrations/`` (Alembic), ``store`` (the handle the app holds), and one module per
operation: ``feedback``, ``issued``, ``report``, ``prune``.
"""
