"""P3: the list screen with 1,000,000 rows against the same screen with 1,000 rows.

Three figures, each the best of N requests through the Flask test client,
logged in, rendering the whole page:

* first page, default sort (by code);
* a search by code: a prefix matching 100 rows (the middle row's code minus its
  last two digits, typed in lower case);
* a free-text search: one word (``LAITON``) found in the middle of the labels of
  5 % of the rows (50 rows of 1,000; 50,000 of 1,000,000), typed in upper case.

The table is first loaded with 1,000 rows and measured, then grown to
1,000,000 rows and measured again; statistics are refreshed after each load
(``ANALYZE``) as after any bulk import. Another tenant's rows are in the table
too and must never show up.
"""
import re
from urllib.parse import urlencode

from benchmarks.datasets import DATASETS, LIST_DATASET
from benchmarks.harness import Figure, analyze, bench_app, best_of, bulk_insert, create_tenant_user, login

SMALL, LARGE = 1_000, 1_000_000
TARGETS = {"first_page": 2.0, "code_search": 2.0, "text_search": 5.0}
LABELS = {"first_page": "P3 first page", "code_search": "P3 code search", "text_search": "P3 text search"}
OTHER_TENANT_ROWS = 1_000


def _requests(dataset, rows: int) -> dict:
    """Per figure: (URL, a text the page must show, number of matching rows)."""
    base = f"/admin/{dataset.resource}/"
    middle = dataset.code(rows // 2)
    prefix = middle[:-2]
    word = dataset.text_word.lower()
    found = [i for i in range(rows) if word in dataset.make_row(i)["label"].lower()]
    text_matches, first_match = len(found), found[0]
    return {
        "first_page": (base, dataset.code(0), rows),
        "code_search": (base + "?" + urlencode({"search": prefix.lower()}), middle, min(100, rows)),
        "text_search": (base + "?" + urlencode({"search": dataset.text_word}), dataset.code(first_match),
                        text_matches),
    }


def _measure(client, dataset, rows: int, repeat: int) -> dict:
    other_tenant = re.compile(re.escape(dataset.code_prefix) + r"\d{7}X")
    timings = {}
    for name, (url, expected, matches) in _requests(dataset, rows).items():
        page = client.get(url)
        body = page.get_data(as_text=True)
        if page.status_code != 200 or expected not in body:
            raise RuntimeError(f"{url}: status {page.status_code}, {expected!r} not on the page")
        if other_tenant.search(body):
            raise RuntimeError(f"{url}: a row of another tenant is shown")
        best, median = best_of(lambda: client.get(url).close(), repeat, warmup=2)
        timings[name] = (best, median, matches)
    return timings


def run(dataset_name: str | None = None, repeat: int = 7, large: int = LARGE, small: int = SMALL,
        report=print) -> dict:
    dataset = DATASETS[dataset_name or LIST_DATASET]
    with bench_app() as (app, _config):
        from benchmarks.harness import dialect_name

        database = dialect_name()
        tenant_id = create_tenant_user("BENCH", "bench@bench.test")
        other_id = create_tenant_user("OTHER", "other@bench.test")
        # The other tenant's codes start like the benchmark's: a leak would show on the page.
        bulk_insert(dataset.model, other_id, lambda i: {**dataset.make_row(i), "code": dataset.code(i) + "X"},
                    0, OTHER_TENANT_ROWS)
        client = login(app, "bench@bench.test")

        bulk_insert(dataset.model, tenant_id, dataset.make_row, 0, small)
        analyze([dataset.table])
        baseline = _measure(client, dataset, small, repeat)

        bulk_insert(dataset.model, tenant_id, dataset.make_row, small, large)
        analyze([dataset.table])
        measured = _measure(client, dataset, large, repeat)

    result = {"database": database, "dataset": dataset.resource}
    for name in TARGETS:
        (b_best, b_median, b_matches), (m_best, m_median, m_matches) = baseline[name], measured[name]
        figure = Figure(name, LABELS[name], TARGETS[name], b_best, m_best, large,
                        {"rows_baseline": small, "matches": m_matches, "matches_baseline": b_matches,
                         "baseline_median_s": round(b_median, 4), "measured_median_s": round(m_median, 4)})
        report(figure.line())
        result[name] = figure.as_dict()
    result["ok"] = all(result[name]["ok"] for name in TARGETS)
    return result
