"""Benchmarks of ``quality.md`` (``make bench``, ``make bench ONLY=P2``), outside ``make test``.

Adding one (P1, P4 …): a module with ``run(dataset_name=None, repeat=…, report=print) -> dict``
registered in ``BENCHMARKS`` of ``__main__.py``. It builds its own app and database with
``harness.bench_app()`` (temporary SQLite, or a schema of its own on ``DATABASE_URL``),
loads rows with ``harness.bulk_insert``, measures its baseline in the same run
(``harness.best_of`` / ``best_of_pair``) and reports ``harness.Figure`` lines; the dict it
returns is its entry in ``results.json``. Rows come from ``datasets.py``.
"""
