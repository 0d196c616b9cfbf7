"""P8: the parameters workbook of a tenant with 10,000 parameter rows, exported and
imported back.

Measured: ``write_parameters_workbook`` (every parameter table and the dossier settings,
through the catalogue) then ``import_parameters_workbook`` of that file into an empty
tenant (every sheet checked and written, then rolled back so that each run imports
the same). Baseline, in the same run: bare XlsxWriter writing the same cells (read back
from the exported workbook) and python-calamine reading every sheet of it. Target ≤ 3×.
"""
import os
import tempfile

import xlsxwriter
from python_calamine import CalamineWorkbook

from benchmarks.p2_export import write_rows
from benchmarks.harness import (
    Figure, analyze, best_of_pair, bench_app, bulk_insert, create_tenant_user, dialect_name, time_shares,
)

ROWS = 10_000
TARGET = 3.0


def _tables():
    from models import (
        ArticleFamily, ClientFamily, Depot, DocumentTitle, PriceCategory, ProductNature, Sector, SupplierFamily,
        TextCode, Unit,
    )
    return (Unit, ArticleFamily, ProductNature, PriceCategory, Depot, Sector, ClientFamily, SupplierFamily,
            TextCode, DocumentTitle)


def _make_row(model, prefix: str):
    def make(i: int) -> dict:
        row = {"code": f"{prefix}{i:05d}", "label": f"{model.__name__} n° {i} — libellé de référence"}
        if model.__name__ == "DocumentTitle":
            row.update(document_type="invoice", print_mask="")
        if model.__name__ == "TextCode":
            row["body"] = f"Texte {i} : conditions générales, ligne une.\nLigne deux."
        return row
    return make


def _sheets(path: str) -> list[tuple[str, list[list]]]:
    workbook = CalamineWorkbook.from_path(path)
    return [(name, workbook.get_sheet_by_name(name).to_python()) for name in workbook.sheet_names]


def write_bare(path: str, sheets) -> None:
    workbook = xlsxwriter.Workbook(path, {"constant_memory": True, "strings_to_formulas": False,
                                         "strings_to_urls": False, "strings_to_numbers": False})
    for name, rows in sheets:
        write_rows(workbook, workbook.add_worksheet(name), rows)
    workbook.close()


def run(dataset_name: str | None = None, repeat: int = 3, rows: int = ROWS, report=print) -> dict:
    from commands.context import tenant_context
    from core import transaction
    from core.extensions import db
    from spreadsheets.workbook import import_parameters_workbook, write_parameters_workbook

    work_dir = tempfile.mkdtemp(prefix="passerelle-bench-p8-")
    exported, bare = os.path.join(work_dir, "exported.xlsx"), os.path.join(work_dir, "bare.xlsx")
    tables = _tables()
    try:
        with bench_app() as (app, _config):
            tenant_id = create_tenant_user("BENCH", "workbook@bench.test")
            empty_id = create_tenant_user("EMPTY", "empty@bench.test")
            per_table = rows // len(tables)
            for index, model in enumerate(tables):
                bulk_insert(model, tenant_id, _make_row(model, f"T{index}"), 0, per_table)
            analyze([model.__tablename__ for model in tables])

            def export():
                with app.test_request_context(), tenant_context("BENCH"):
                    write_parameters_workbook(exported)

            def round_trip():
                export()
                with open(exported, "rb") as handle:
                    data = handle.read()
                with app.test_request_context(), tenant_context("EMPTY"):
                    # pysqlite begins no transaction for a SAVEPOINT: the import's own savepoint
                    # would start it and its release commit it, and the next runs would update
                    # instead of create. An outer savepoint keeps every run's work undoable.
                    db.session.begin_nested()
                    result = import_parameters_workbook(data, empty_id)
                    if not result.ok:
                        raise RuntimeError("; ".join(result.messages()[:5]))
                    transaction.rollback()

            export()
            sheets = _sheets(exported)
            cells = sum(len(row) for _name, sheet_rows in sheets for row in sheet_rows)

            def baseline():
                write_bare(bare, sheets)
                _sheets(bare)

            (measured, measured_median), (base, base_median) = best_of_pair(round_trip, baseline, repeat)
            shares = time_shares(round_trip)
            database = dialect_name()
    finally:
        for path in (exported, bare):
            if os.path.exists(path):
                os.unlink(path)
        os.rmdir(work_dir)
    figure = Figure("P8", "P8 params workbook", TARGET, base, measured, per_table * len(tables), {
        "cells": cells, "sheets": len(sheets), "baseline_median_s": round(base_median, 4),
        "measured_median_s": round(measured_median, 4), "database": database, "time_shares": shares})
    report(figure.line())
    return figure.as_dict()
