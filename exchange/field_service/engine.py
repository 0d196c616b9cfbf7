"""The field-service engines: they only orchestrate (batched queries, the peer calls,
the report); the rules are ``exchange.field_service.rules``.

Send: the five referential endpoints in order (customers, sites, contracts,
technicians, items), each left-out row a ``skipped`` item naming its rule, the rest
in PUTs of ``batch_size`` rows carrying only what changed since the peer last
accepted it (``exchange.sent``; *Tout renvoyer* sends all).

Receive: every page of ``VALIDATED`` interventions since the watermark (minus the
overlap), each one integrated in its own transaction (``Run.document``) after its
key is claimed (``exchange.received``); the watermark is stored at the end of a run
that did not fail, never later than the oldest intervention left in error.
"""
import logging
from collections import namedtuple
from concurrent.futures import ThreadPoolExecutor
from itertools import chain, islice
from operator import itemgetter
from datetime import timedelta
from urllib.parse import urlsplit

import requests
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import aliased, selectinload

from core import clock
from core.batching import chunks
from core.bulk import fast_rows
from core.extensions import db
from exchange import received, sent
from exchange.base import ItemError, RunFailed
from exchange.field_service import rules
from exchange.http import Peer
from models import (
    Article, ArticleFamily, ArticleMapping, Client, Employee, ExchangeWatermark, Invoice, InvoiceAttachment, JobSite,
    ProductNature, Site, Unit,
)
from models.base import utcnow
from rules.master_data import labour_nature_prefix

logger = logging.getLogger(__name__)
CHUNK = 500
WATERMARK = "validatedSince"
MAX_PAGES = 100_000
MAX_REPORT_BYTES = 20 * 1024 * 1024


def peer_of(connector, secrets: dict | None = None) -> Peer:
    from exchange.base import connector_secrets
    secrets = connector_secrets(connector) if secrets is None else secrets
    return Peer((connector.settings or {}).get("base_url") or "", secrets.get("api_key") or "")


def ping(connector) -> str:
    """*Tester la connexion*: ``GET /v1/ping``; the French result, or ``RunFailed``."""
    peer_of(connector).get("/v1/ping")
    return _("Connection OK: the field-service application answered.")


# --- send -----------------------------------------------------------------------------------------

# rows of a type read at a time, by dialect (none: all at once): on PostgreSQL a page costs
# what the whole read costs when the planner expects few rows (the joins made for every row
# before the first page is kept), and one read of 50,000 articles is quick there
PAGES = {"sqlite": 2_000}


class _Rows:
    """The rows of a column query ordered by ``key`` (its model's code, unique in the
    tenant), as plain tuples. On SQLite they are read a page at a time (``PAGES``) from
    the code the page before ended at, each page in a statement of its own: the first
    batches travel while the next pages are read (the peer does not wait for the whole
    read), and no statement stays unfinished while the peer answers (it would keep the
    records and the report from being written). A row whose code changes meanwhile may
    be read twice or not at all: sent twice, or at the next send. ``records(pages)``:
    the rows as named tuples (plain attribute reads for the rules), each made as it is
    read: 70,000 rows of a big send held as plain tuples cost the garbage collector next
    to nothing."""

    def __init__(self, query, key):
        self.query, self.key = query, key
        self.record = namedtuple("Record", [column.key for column in query.selected_columns])
        self.position = self.record._fields.index(key.key)

    def pages(self):
        size = PAGES.get(db.engine.dialect.name)
        if size is None:
            rows = fast_rows(self.query)
            db.session.rollback()  # before the rows go: no transaction open while the peer answers
            yield rows
            return
        # the first page from the smallest code (``>= ''``): SQLite then reads the unique
        # index in order instead of sorting every row of the tenant for the first page
        condition = self.key >= ""
        while True:
            page = fast_rows(self.query.where(condition).limit(size))
            db.session.rollback()
            if page:
                yield page
            if len(page) < size:
                return
            condition = self.key > page[-1][self.position]

    def records(self, pages):
        return map(self.record._make, chain.from_iterable(pages))

    def unique(self, rows: list, columns: tuple) -> bool:
        """Whether no two ``rows`` have one code: the first non-empty of ``columns``."""
        columns = [list(map(itemgetter(self.record._fields.index(column)), rows)) for column in columns]
        codes = [value or None for value in columns[-1]]
        for column in reversed(columns[:-1]):  # the first non-empty one
            codes = [value or code for value, code in zip(column, codes)]
        return len(set(codes)) == len(rows)


def _article_query(tenant_id: int, connector_id: int):
    family, subfamily = aliased(ArticleFamily), aliased(ArticleFamily)
    return select(
        Article.code, Article.label, Article.active, Article.sale_price, ArticleMapping.external_code,
        family.code.label("family_code"), subfamily.code.label("subfamily_code"),
        ProductNature.code.label("nature_code"), Unit.code.label("unit_code"),
    ).outerjoin(ArticleMapping, (ArticleMapping.article_id == Article.id)
                & (ArticleMapping.connector_id == connector_id)) \
        .outerjoin(family, family.id == Article.family_id).outerjoin(subfamily, subfamily.id == Article.subfamily_id) \
        .outerjoin(ProductNature, ProductNature.id == Article.nature_id).outerjoin(Unit, Unit.id == Article.unit_id) \
        .where(Article.tenant_id == tenant_id).order_by(Article.code)


def _referential(tenant_id: int, connector_id: int):
    """Every row the send looks at, as ``(entity type, endpoint, model, query, row,
    codes)`` where ``row(record)`` of each record of ``_Rows(query, model.code)`` is
    ``(code, payload | None, reason)`` and ``codes`` the columns of a row's code when
    two rows may have one (an article's mapped code that is another's code; None: the
    model's code): five column queries plus the mappings (no query per row, no ORM object
    per row: the rules read the rows' attributes). Each type is read in its turn, after
    the types before it (while their batches travel): a site goes only with a client
    sent, a job site names its site."""
    today, prefix = clock.today(), labour_nature_prefix(tenant_id)
    mapped = db.session.execute(select(ArticleMapping.id).where(ArticleMapping.connector_id == connector_id)
                                .limit(1)).first() is not None
    client_codes, site_codes, sent_clients = {}, {}, set()

    def client_row(client):
        client_codes[client.id] = client.code
        reason = rules.client_skip_reason(client)
        if reason:
            return client.code, None, reason
        sent_clients.add(client.code)
        return client.code, rules.client_payload(client), None

    def site_row(site):
        site_codes[site.id] = site.code
        client_code = client_codes.get(site.client_id)
        reason = rules.place_skip_reason("site", site.code, client_code, sent_clients)
        return site.code, None if reason else rules.site_payload(site, client_code), reason

    def job_site_row(job_site):
        client_code = client_codes.get(job_site.client_id)
        reason = rules.place_skip_reason("job_site", job_site.code, client_code, sent_clients)
        payload = None if reason else rules.job_site_payload(job_site, client_code, site_codes.get(job_site.site_id))
        return job_site.code, payload, reason

    def employee_row(employee):
        reason = rules.employee_skip_reason(employee, today)
        return employee.code, None if reason else rules.technician_payload(employee), reason

    def article_row(article):
        reason = rules.article_skip_reason(article)
        payload = None if reason else rules.article_payload(
            article, article.external_code, article.family_code, article.subfamily_code, article.nature_code,
            article.unit_code, prefix)
        return article.external_code or article.code, payload, reason

    return [
        ("client", "/v1/customers", Client, select(
            Client.id, Client.code, Client.name, Client.deactivated, Client.address, Client.postcode, Client.city,
            Client.email, Client.phone).where(Client.tenant_id == tenant_id).order_by(Client.code), client_row, None),
        ("site", "/v1/sites", Site, select(
            Site.id, Site.code, Site.name, Site.client_id, Site.address, Site.postcode, Site.city)
         .where(Site.tenant_id == tenant_id).order_by(Site.code), site_row, None),
        ("job_site", "/v1/contracts", JobSite, select(JobSite.code, JobSite.name, JobSite.client_id, JobSite.site_id)
         .where(JobSite.tenant_id == tenant_id).order_by(JobSite.code), job_site_row, None),
        ("employee", "/v1/technicians", Employee, select(
            Employee.code, Employee.first_name, Employee.last_name, Employee.email, Employee.phone,
            Employee.hire_date, Employee.technician).where(Employee.tenant_id == tenant_id).order_by(Employee.code),
         employee_row, None),
        ("article", "/v1/items", Article, _article_query(tenant_id, connector_id), article_row,
         ("external_code", "code") if mapped else None),
    ]


def _total(tenant_id: int, groups) -> int:
    """The rows of every type, in one query (the progress' total, before any is read)."""
    counts = [select(func.count()).select_from(model).where(model.tenant_id == tenant_id).scalar_subquery()
              for _type, _path, model, *_rest in groups]
    return sum(db.session.execute(select(*counts)).one())


# accepted rows recorded (one commit, while the send goes on) this many at a time: on SQLite,
# whose one writer's every commit is an fsync the run's own progress commits wait behind, four
# times as many
REMEMBER_ROWS = {"postgresql": 5_000, "sqlite": 20_000}
PARALLEL_RECORDS = 3  # groups of accepted rows recorded at once on PostgreSQL


def send(run) -> None:
    """The report lists every row left out (``skipped``, its rule) and every batch sent
    (``ok``, named by its endpoint and number, its first and last identifiers); the
    counts are rows: each sent row counts ``ok``, and the unchanged ones are counted
    in one ``ok`` item per type."""
    connector = run.connector
    size = max(1, int(run.settings.get("batch_size") or 500))
    with Sender(peer_of(connector, run.secrets)) as sender:
        _send(run, sender, size)


class Sender:
    """The PUTs of a send, one at a time, each begun before the next batch is made
    (``Peer.start_put``: the run builds it while the peer reads this one), and the
    records of what the peer accepted written in a thread of their own while the
    send goes on."""

    def __init__(self, peer):
        self.peer, self.app = peer, current_app._get_current_object()
        # PostgreSQL writes the records of several groups at once (its own processes do the
        # work: foreign keys, indexes); SQLite has one writer at a time
        dialect = db.engine.dialect.name
        writers = PARALLEL_RECORDS if dialect == "postgresql" else 1
        self.remember_rows = REMEMBER_ROWS.get(dialect, REMEMBER_ROWS["postgresql"])
        self.recorder = ThreadPoolExecutor(max_workers=writers, thread_name_prefix="field-service-record")

    def put(self, path: str, data: bytes):
        return self.peer.start_put(path, data)

    def record(self, function, *args):
        return self.recorder.submit(self._in_context, function, *args)

    def _in_context(self, function, *args):
        with self.app.app_context():  # the messages are translated like the run's, the database is the app's
            try:
                return function(*args)
            finally:
                db.session.remove()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.peer.close()
        self.recorder.shutdown(wait=True)


def _send(run, sender, size: int) -> None:
    connector = run.connector
    groups = _referential(connector.tenant_id, connector.id)
    total = _total(connector.tenant_id, groups)
    db.session.rollback()  # no transaction stays open while the peer answers
    run.set_total(total)
    flights = Flights(run, sender)
    try:
        for entity_type, path, model, query, row, codes in groups:
            last = {} if run.full_send else sent.last_accepted(connector.id, entity_type)
            db.session.rollback()
            texts = _texts(run, entity_type, _Rows(query, model.code), row, codes)
            unchanged = _put_changed(flights, entity_type, path, texts, last, size)
            if unchanged:
                _count_rows(run, entity_type, "", [""] * unchanged,
                            _("%(count)s unchanged since the last send: not sent again.", count=unchanged))
        flights.land()
    except BaseException:  # what the peer accepted is recorded even when a later batch fails
        flights.close(failing=True)
        raise
    flights.close()


def _texts(run, entity_type: str, rows, row, code_columns: tuple | None):
    """``(code, JSON text of its payload)`` of each row to send, in order, as it is made
    (the first batch leaves before the last page is read), each row left out reported as
    it comes. Codes that may repeat (``code_columns``) are looked at once every row is
    read: two rows of one code (an article's mapped code that is another's code), the
    later one's payload, once, so then none before every row is made."""
    pages, unique, texts = rows.pages(), True, {}
    if code_columns is not None:
        pages = [list(chain.from_iterable(pages))]
        unique = rows.unique(pages[0], code_columns)
    for code, payload, reason in map(row, rows.records(pages)):
        if reason:
            run.item(entity_type, code, "skipped", reason)
        elif unique:
            yield code, received.canonical_json(payload)
        else:
            texts[code] = received.canonical_json(payload)
    yield from texts.items()


def _put_changed(flights, entity_type: str, path: str, texts, last: dict, size: int) -> int:
    """Put the rows (``texts``: ``(code, text)``) whose fingerprint differs from ``last`` in
    batches of ``size`` (each row's JSON text made once for its fingerprint and the wire);
    how many were unchanged."""
    if not last:  # a first send: every row goes, its batches made a batch at a time
        number = 0
        while chunk := list(islice(texts, size)):
            number += 1
            codes, batch = map(list, zip(*chunk))
            flights.put(entity_type, path, number, codes, batch, list(map(received.digest, batch)))
        return 0
    codes, batch, digests, number, unchanged = [], [], [], 0, 0
    for code, text in texts:
        digest = received.digest(text)
        if last.get(code) == digest:
            unchanged += 1
            continue
        codes.append(code)
        batch.append(text)
        digests.append(digest)
        if len(batch) == size:
            number += 1
            flights.put(entity_type, path, number, codes, batch, digests)
            codes, batch, digests = [], [], []
    if batch:
        flights.put(entity_type, path, number + 1, codes, batch, digests)
    return unchanged


class Flights:
    """The batches of a send on their way: each one is put once the answer of the one
    before is read and checked (a failure ends the send before another batch leaves),
    then that one is settled (its rows counted, then recorded as accepted, in groups of
    ``REMEMBER_ROWS`` rows (the database's) whatever their types) while this one travels."""

    def __init__(self, run, sender):
        self.run, self.sender = run, sender
        self.tenant_id, self.connector_id = run.connector.tenant_id, run.connector.id
        self.in_flight = None  # the batch put last: (call, entity type, path, name, codes, digests)
        self.accepted: dict[str, dict] = {}  # entity type -> {code: digest}
        self.waiting = 0
        self.recordings = []

    def put(self, entity_type: str, path: str, number: int, codes: list, texts: list, digests: list) -> None:
        """Put the batch of ``texts`` (JSON texts of the rows ``codes``, of fingerprints ``digests``)."""
        if self.run.lease_lost.is_set():
            raise RunFailed(_("The run lost its lease (closed by another process); it stopped."))
        previous, self.in_flight = self.in_flight, None
        if previous is not None:
            self._answered(previous)
        try:
            call = None if self.run.dry_run else self.sender.put(
                path, ('{"items": [' + ", ".join(texts) + "]}").encode("utf-8"))
        finally:  # the batch answered is counted and recorded even when this one cannot leave
            if previous is not None:
                self._settle(previous)
        self.in_flight = (call, entity_type, path, f"{path.rsplit('/', 1)[-1]} #{number}", codes, digests)

    def land(self) -> None:
        """Settle the batch still on its way."""
        flight, self.in_flight = self.in_flight, None
        if flight is not None:
            self._answered(flight)
            self._settle(flight)

    @staticmethod
    def _answered(flight) -> None:
        """Wait for the answer of a batch put; the peer's failure (RunFailed) ends the run here."""
        call, _type, path, *_rest = flight
        if call is None:
            return
        answer = call.result()
        if not isinstance(answer, dict) or "upserted" not in answer:
            raise RunFailed(_("The application answered %(path)s without the number of rows "
                              "upserted.", path=path))

    def _settle(self, flight) -> None:
        """Count the rows of a batch answered, and record them as accepted."""
        call, entity_type, _path, name, codes, digests = flight
        if call is not None:
            self.accepted.setdefault(entity_type, {}).update(zip(codes, digests))
            self.waiting += len(codes)
            if self.waiting >= self.sender.remember_rows:
                self._remember()
        _count_rows(self.run, entity_type, name, codes)

    def _remember(self) -> None:
        for entity_type, digests in self.accepted.items():
            self.recordings.append(self.sender.record(sent.remember_digests, self.tenant_id, self.connector_id,
                                                      entity_type, digests))
        self.accepted, self.waiting = {}, 0

    def close(self, failing: bool = False) -> None:
        """Record what was accepted and wait for every record; a batch still in flight
        after a failure is not waited for (nor recorded). A record that failed fails the send, unless
        it is failing already."""
        if self.in_flight is not None and self.in_flight[0] is not None:
            self.in_flight[0].cancel()
        self._remember()
        errors = [error for error in (recording.exception() for recording in self.recordings) if error]
        if errors and not failing:
            raise errors[0]
        for error in errors:
            logger.warning("run %s: sent records not written (%s)", self.run.id, type(error).__name__)


def _count_rows(run, entity_type: str, batch: str, codes: list[str], message: str = "") -> None:
    """One ``ok`` item for ``codes`` (a batch, or the unchanged rows) counting each row."""
    identifier = codes[0] if len(codes) == 1 else f"{codes[0]} … {codes[-1]}" if codes[0] else ""
    if not message and len(codes) > 1:
        message = _("%(count)s rows sent", count=len(codes))
    run.item(entity_type, identifier, "ok", message, batch)
    run.counts["ok"] += len(codes) - 1
    run.processed += len(codes) - 1


# --- receive --------------------------------------------------------------------------------------

def _watermark(connector_id: int):
    return db.session.execute(select(ExchangeWatermark.value).where(
        ExchangeWatermark.connector_id == connector_id, ExchangeWatermark.name == WATERMARK)).scalar()


def store_watermark(connector_id: int, value) -> None:
    """On its own connection (the run's documents are committed one by one)."""
    table = ExchangeWatermark.__table__
    with db.engine.begin() as connection:
        changed = connection.execute(update(table).where(table.c.connector_id == connector_id,
                                                         table.c.name == WATERMARK)
                                     .values(value=value, updated_at=utcnow())).rowcount
        if not changed:
            connection.execute(insert(table).values(connector_id=connector_id, name=WATERMARK, value=value,
                                                    updated_at=utcnow()))


def _fetch(peer, since) -> list:
    """Every page of validated interventions since ``since`` (naive UTC, or None)."""
    params = {"status": rules.VALIDATED}
    if since is not None:
        params["validatedSince"] = since.strftime("%Y-%m-%dT%H:%M:%SZ")
    found, page, pages = [], 1, 1
    while page <= pages and page <= MAX_PAGES:
        answer = peer.get("/v1/interventions", {**params, "page": page})
        if not isinstance(answer, dict) or not isinstance(answer.get("items"), list):
            raise RunFailed(_("The application answered /v1/interventions without a list of interventions."))
        found.extend(answer["items"])
        try:
            pages = int(answer.get("pages") or 1)
        except (TypeError, ValueError):
            raise RunFailed(_("The application answered /v1/interventions with an unreadable page count."))
        page += 1
    return found


def _load(model, column, codes, tenant_id, *options) -> dict:
    found = {}
    codes = sorted({str(code) for code in codes if code})
    for chunk in chunks(codes, CHUNK):
        query = select(model).where(model.tenant_id == tenant_id, column.in_(chunk))
        if options:
            query = query.options(*options)
        found.update((getattr(row, column.key), row) for row in db.session.execute(query).scalars())
    return found


def _references(run, interventions: list) -> rules.References:
    tenant_id, connector_id = run.connector.tenant_id, run.connector.id
    lines = [line for i in interventions for line in (i.get("lines") or []) if isinstance(line, dict)]
    item_ids = {str(line.get("itemId")) for line in lines if line.get("itemId")}
    article_options = (selectinload(Article.nature), selectinload(Article.vat_rate))
    mapped = {}
    for chunk in chunks(sorted(item_ids), CHUNK):
        rows = db.session.execute(select(ArticleMapping.external_code, Article).join(
            Article, Article.id == ArticleMapping.article_id).where(
            ArticleMapping.connector_id == connector_id, ArticleMapping.external_code.in_(chunk))
            .options(*article_options)).all()
        mapped.update((code, article) for code, article in rows)
    return rules.References(
        job_sites=_load(JobSite, JobSite.code, [i.get("contractId") for i in interventions], tenant_id,
                        selectinload(JobSite.client), selectinload(JobSite.site)),
        clients=_load(Client, Client.code, [i.get("customerId") for i in interventions], tenant_id),
        sites=_load(Site, Site.code, [i.get("siteId") for i in interventions], tenant_id),
        mapped_articles=mapped,
        articles=_load(Article, Article.code, item_ids - set(mapped), tenant_id, *article_options),
        labour_prefix=labour_nature_prefix(tenant_id))


def integrated(connector, keys: list[str]) -> set[str]:
    """The keys already integrated: received by this connector, or the reference of an
    invoice of the same origin (a look-up to skip without a transaction; the unique
    keys are what guarantee it when another process integrates meanwhile)."""
    found = set(received.known(connector.id, keys))
    for chunk in chunks(keys, CHUNK):
        found.update(db.session.execute(select(Invoice.external_reference).where(
            Invoice.tenant_id == connector.tenant_id, Invoice.origin == rules.ORIGIN,
            Invoice.external_reference.in_([key[:80] for key in chunk]))).scalars())
    return {key for key in keys if key[:200] in found or key[:80] in found}


def _report_pdf(peer, url: str) -> bytes:
    """The intervention's report PDF (``attach_report``), or ``ItemError``."""
    same_origin = urlsplit(url)[:2] == urlsplit(peer.base_url)[:2]
    try:  # the API key goes to the application's own address only (never where it redirects)
        response = (peer.session.get(url, timeout=peer.timeout, allow_redirects=False) if same_origin
                    else requests.get(url, timeout=peer.timeout, headers={"Accept": "application/pdf"}))
    except Exception as error:  # noqa: BLE001 — a report that cannot be fetched is this item's error
        raise ItemError(_("report %(url)s cannot be downloaded (%(type)s)", url=url, type=type(error).__name__))
    if response.status_code != 200 or not response.content.startswith(b"%PDF"):
        raise ItemError(_("report %(url)s cannot be downloaded (HTTP %(status)s)", url=url,
                          status=response.status_code))
    if len(response.content) > MAX_REPORT_BYTES:
        raise ItemError(_("report %(url)s is larger than 20 MB", url=url))
    return response.content


def receive(run) -> None:
    """The references of a batch are loaded once and stay loaded across the documents'
    commits (``expire_on_commit`` off for the run), so no intervention costs a query."""
    session = db.session()
    saved, session.expire_on_commit = session.expire_on_commit, False
    try:
        _receive(run)
    finally:
        session.expire_on_commit = saved


def _receive(run) -> None:
    connector = run.connector
    settings = run.settings
    peer = peer_of(connector, run.secrets)
    previous = _watermark(connector.id)
    overlap = timedelta(seconds=current_app.config["FIELD_SERVICE_OVERLAP_SECONDS"])
    db.session.rollback()
    fetched = _fetch(peer, previous - overlap if previous else None)
    # the status is checked even when the peer ignores the filter: anything else leaves no trace
    validated, seen_ids = [], set()
    for intervention in fetched:
        if rules.is_validated(intervention) and str(intervention["id"]) not in seen_ids:
            seen_ids.add(str(intervention["id"]))
            validated.append(intervention)
    wanted = [i for i in validated if run.wanted("intervention", str(i["id"]))]
    run.set_total(len(wanted))
    seen = [at for at in (rules.parse_instant(i.get("validatedAt")) for i in validated) if at]
    in_error = []
    policy = settings.get("zero_value_policy") or rules.SKIP_WITH_WARNING
    attach = bool(settings.get("attach_report"))
    today = clock.today()
    for batch in chunks(wanted, CHUNK):
        already = integrated(connector, [str(i["id"]) for i in batch])
        refs = _references(run, batch)
        for intervention in batch:
            key = str(intervention["id"])
            if key in already:
                run.item("intervention", key, "skipped", _("Already integrated."))
                continue
            missing = rules.missing_references(intervention, refs)
            if missing:
                in_error.append(rules.parse_instant(intervention.get("validatedAt")))
                run.item("intervention", key, "error", _("intervention %(id)s not integrated: %(missing)s",
                                                         id=key, missing=", ".join(missing)))
                continue
            pdf = None
            if attach and intervention.get("reportUrl"):
                try:
                    pdf = _report_pdf(peer, str(intervention["reportUrl"]))
                except ItemError as error:
                    in_error.append(rules.parse_instant(intervention.get("validatedAt")))
                    run.item("intervention", key, "error", str(error))
                    continue
            with run.document("intervention", key) as outcome:
                draft = rules.draft_invoice(intervention, refs, connector.tenant_id, today, policy)
                if draft.invoice is None:
                    outcome.warn("; ".join(draft.warnings))
                    continue
                record = received.claim(run, key, "invoice", received.fingerprint(intervention))
                db.session.add(draft.invoice)
                if pdf is not None:
                    draft.invoice.attachments.append(InvoiceAttachment(
                        tenant_id=connector.tenant_id, filename=f"rapport-{key}.pdf"[:250],
                        content_type="application/pdf", content=pdf))
                db.session.flush()
                record.document_id = draft.invoice.id
                if draft.warnings:
                    outcome.warn("; ".join(draft.warnings))
    if run.dry_run or run.only is not None:
        return
    mark = rules.next_watermark(previous, seen, [at for at in in_error if at])
    if in_error and any(at is None for at in in_error):
        mark = previous  # an errored intervention without a readable date: start where this run started
    if mark != previous:
        store_watermark(connector.id, mark)
