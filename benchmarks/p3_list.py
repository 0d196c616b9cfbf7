"""P3: the list screen with 1,000,000 rows against the same screen with 1,000 rows.

Three figures, each the median of N (at least 20) requests through the Flask test
client, logged in, rendering the whole page as the screen serves it (articles: their
family, subfamily, nature, unit and VAT rate shown by code and name, the labour /
supply column), each followed by what dominates its time (``harness.time_shares``):

* first page, default sort (by code);
* a search by code: a prefix matching 100 rows (the middle row's code minus its
  last two digits, typed in lower case);
* a free-text search: one word (``LAITON``) found in the middle of the labels of
  5 % of the rows (50 rows of 1,000; 50,000 of 1,000,000), typed in upper case.

The dataset is ``datasets.LIST_DATASET`` (articles) unless ``--dataset`` names another.

Two databases (SQLite files, or PostgreSQL schemas), one with 1,000 rows, one
with 1,000,000, each loaded then brought to the state a database reaches after a
bulk load (``harness.analyze``); the requests alternate between the two so that
both see the same noise. Another tenant's 1,000 rows are in each table and must
never show up.
"""
import re
from urllib.parse import urlencode

from benchmarks.datasets import DATASETS, LIST_DATASET
from benchmarks.harness import (
    Figure, analyze, bench_app, best_of_pair, create_tenant_user, dialect_name, login, time_shares,
)

SMALL, LARGE = 1_000, 1_000_000
TARGETS = {"first_page": 1.2, "code_search": 1.2, "text_search": 2.0}
MIN_REPEAT = 20  # quality.md: each figure the median of at least 20 requests
LABELS = {"first_page": "P3 first page", "code_search": "P3 code search", "text_search": "P3 text search"}
OTHER_TENANT_ROWS = 1_000


def _requests(dataset, rows: int) -> dict:
    """Per figure: (URL, a text the page must show, number of matching rows)."""
    base = f"/admin/{dataset.resource}/"
    middle = dataset.code(rows // 2)
    prefix = middle[:-2]
    word = dataset.text_word.lower()
    found = [i for i in range(rows) if word in dataset.label(i).lower()]
    text_matches, first_match = len(found), found[0]
    return {
        "first_page": (base, dataset.code(0), rows),
        "code_search": (base + "?" + urlencode({"search": prefix.lower()}), middle, min(100, rows)),
        "text_search": (base + "?" + urlencode({"search": dataset.text_word}), dataset.code(first_match),
                        text_matches),
    }


def _check(client, url: str, expected: str, other_tenant) -> None:
    page = client.get(url)
    body = page.get_data(as_text=True)
    if page.status_code != 200 or expected not in body:
        raise RuntimeError(f"{url}: status {page.status_code}, {expected!r} not on the page")
    if other_tenant.search(body):
        raise RuntimeError(f"{url}: a row of another tenant is shown")


def _load(dataset, rows: int) -> None:
    tenant_id = create_tenant_user("BENCH", "bench@bench.test")
    other_id = create_tenant_user("OTHER", "other@bench.test")
    # The other tenant's codes look like the benchmark's (plus X): a leak would show on the page.
    dataset.load(other_id, 0, OTHER_TENANT_ROWS, code_suffix="X")
    dataset.load(tenant_id, 0, rows)
    analyze(dataset.tables)


def run(dataset_name: str | None = None, repeat: int = 21, large: int = LARGE, small: int = SMALL,
        report=print) -> dict:
    dataset = DATASETS[dataset_name or LIST_DATASET]
    repeat = max(repeat, MIN_REPEAT)
    other_tenant = re.compile(re.escape(dataset.code_prefix) + r"\d{7}X")
    with bench_app("small", push_context=False) as (small_app, _), \
            bench_app("large", push_context=False) as (large_app, _):
        clients = {}
        for app, rows in ((small_app, small), (large_app, large)):
            with app.app_context():
                database = dialect_name()
                _load(dataset, rows)
            clients[rows] = login(app, "bench@bench.test")
        requests = {rows: _requests(dataset, rows) for rows in (small, large)}
        timings, shares = {}, {}
        for name in TARGETS:
            for rows in (small, large):
                url, expected, _matches = requests[rows][name]
                for _ in range(2):  # warm-up
                    _check(clients[rows], url, expected, other_tenant)
            timings[name] = best_of_pair(lambda: clients[large].get(requests[large][name][0]).close(),
                                         lambda: clients[small].get(requests[small][name][0]).close(), repeat)
            shares[name] = time_shares(lambda: [clients[large].get(requests[large][name][0]).close()
                                                for _ in range(5)])

    result = {"database": database, "dataset": dataset.resource}
    for name in TARGETS:
        (m_best, m_median), (b_best, b_median) = timings[name]
        figure = Figure(name, LABELS[name], TARGETS[name], b_median, m_median, large,
                        {"rows_baseline": small, "matches": requests[large][name][2],
                         "matches_baseline": requests[small][name][2], "requests": repeat,
                         "baseline_best_s": round(b_best, 4), "measured_best_s": round(m_best, 4),
                         "time_shares": shares[name]})
        report(figure.line())
        result[name] = figure.as_dict()
    result["ok"] = all(result[name]["ok"] for name in TARGETS)
    return result
