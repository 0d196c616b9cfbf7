"""P2: XLSX export of 200,000 rows through the export endpoint.

Measured: ``GET /admin/<list>/export/xlsx/`` through the Flask test client,
logged in, body read to the end (the rows are read from the database, written
by ``spreadsheets.xlsx`` to a temporary file, then sent). Baseline: bare
XlsxWriter in constant-memory mode writing the same cells (read back from the
exported file beforehand, so the same strings, numbers and dates) to a file.
Both are the best of N runs, run alternately. Peak memory growth of the export is measured in a
subprocess at 20,000 and at 200,000 rows: it must stay under 64 MB and flat.
"""
import os
import tempfile
from datetime import date, datetime

import xlsxwriter

from benchmarks import memprobe
from benchmarks.datasets import DATASETS, EXPORT_DATASET
from benchmarks.harness import (
    Figure, analyze, bench_app, best_of_pair, create_tenant_user, dialect_name, login, time_shares,
)

SMALL, LARGE = 20_000, 200_000
TARGET = 1.2
MEMORY_LIMIT_MB = 64
FLAT_MARGIN_MB = 16  # "flat": the growth at 200,000 rows at most this much above the one at 20,000
EMAIL = "export@bench.test"


def _export_to(client, url: str, path: str | None = None) -> int:
    response = client.get(url)
    if response.status_code != 200:
        raise RuntimeError(f"{url}: status {response.status_code}")
    size = 0
    with open(path or os.devnull, "wb") as target:
        for chunk in response.response:
            target.write(chunk)
            size += len(chunk)
    response.close()
    return size


def read_cells(path: str) -> list[list]:
    """The cells of the first sheet of an xlsx file (python-calamine)."""
    from python_calamine import CalamineWorkbook

    return CalamineWorkbook.from_path(path).get_sheet_by_index(0).to_python()


def write_bare(path: str, rows: list[list]) -> None:
    """The baseline: XlsxWriter, constant memory, one typed write per non-empty cell."""
    workbook = xlsxwriter.Workbook(path, {"constant_memory": True, "strings_to_formulas": False,
                                         "strings_to_urls": False, "strings_to_numbers": False})
    write_rows(workbook, workbook.add_worksheet("Export"), rows)
    workbook.close()


def write_rows(workbook, worksheet, rows: list[list]) -> None:
    """One typed write per non-empty cell, as the baselines write their cells."""
    date_format = workbook.add_format({"num_format": "dd/mm/yyyy"})
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if value == "" or value is None:
                continue
            if isinstance(value, str):
                worksheet.write_string(r, c, value)
            elif isinstance(value, bool):
                worksheet.write_boolean(r, c, value)
            elif isinstance(value, (int, float)):
                worksheet.write_number(r, c, value)
            elif isinstance(value, (date, datetime)):
                worksheet.write_datetime(r, c, value, date_format)
            else:
                worksheet.write_string(r, c, str(value))


def run(dataset_name: str | None = None, repeat: int = 3, large: int = LARGE, small: int = SMALL,
        report=print) -> dict:
    dataset = DATASETS[dataset_name or EXPORT_DATASET]
    url = f"/admin/{dataset.resource}/export/xlsx/"
    empty_url = url + "?search=no-such-row-zzz"
    work_dir = tempfile.mkdtemp(prefix="passerelle-bench-p2-")
    exported, bare = os.path.join(work_dir, "exported.xlsx"), os.path.join(work_dir, "bare.xlsx")
    try:
        with bench_app(push_context=False) as (app, config):
            with app.app_context():
                database = dialect_name()
                tenant_id = create_tenant_user("BENCH", EMAIL, role="viewer")
                other_id = create_tenant_user("OTHER", "other@bench.test")
                dataset.load(other_id, 0, 1_000)
                dataset.load(tenant_id, 0, small)
                analyze(dataset.tables)
            memory_small = memprobe.measure(config, EMAIL, url, empty_url)

            with app.app_context():
                dataset.load(tenant_id, small, large)
                analyze(dataset.tables)
            memory_large = memprobe.measure(config, EMAIL, url, empty_url)

            client = login(app, EMAIL)
            _export_to(client, url, exported)
            cells = read_cells(exported)
            if len(cells) != large + 1:
                raise RuntimeError(f"the export has {len(cells) - 1} rows, expected {large}")
            (measured, measured_median), (baseline, baseline_median) = best_of_pair(
                lambda: _export_to(client, url), lambda: write_bare(bare, cells), repeat)
            shares = time_shares(lambda: _export_to(client, url))
    finally:
        for path in (exported, bare):
            if os.path.exists(path):
                os.unlink(path)
        os.rmdir(work_dir)

    peak_large, peak_small = memory_large["growth_mb"], memory_small["growth_mb"]
    memory_ok = peak_large < MEMORY_LIMIT_MB and peak_large - peak_small <= FLAT_MARGIN_MB
    figure = Figure("P2", "P2 xlsx export", TARGET, baseline, measured, large, {
        "peak_mb": peak_large, "peak_mb_small": peak_small, "rows_small": small,
        "peak_target_mb": MEMORY_LIMIT_MB, "memory_ok": memory_ok, "cells": sum(len(row) for row in cells),
        "baseline_median_s": round(baseline_median, 4), "measured_median_s": round(measured_median, 4),
        "database": database, "dataset": dataset.resource, "time_shares": shares,
    })
    report(figure.line())
    return figure.as_dict()
