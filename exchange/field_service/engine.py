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
from datetime import timedelta
from urllib.parse import urlsplit

import requests
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import insert, select, update
from sqlalchemy.orm import aliased, selectinload

from core import clock
from core.batching import chunks
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

def _records(query):
    """The rows of a column query as named tuples (plain attribute reads: the rules read
    70,000 rows of a big send)."""
    result = db.session.connection().execute(query)
    record = namedtuple("Record", list(result.keys()))
    return [record._make(row) for row in result.all()]


def _referential(tenant_id: int, connector_id: int):
    """Every row the send looks at, as ``(entity type, endpoint, [(code, payload | None, reason)])``:
    five column queries plus the mappings (no query per row, no ORM object per row: the
    rules read the rows' attributes)."""
    today = clock.today()
    client_rows, sent_clients, client_codes = [], set(), {}
    for client in _records(select(
            Client.id, Client.code, Client.name, Client.deactivated, Client.address, Client.postcode, Client.city,
            Client.email, Client.phone).where(Client.tenant_id == tenant_id).order_by(Client.code)):
        client_codes[client.id] = client.code
        reason = rules.client_skip_reason(client)
        if reason is None:
            sent_clients.add(client.code)
        client_rows.append((client.code, None if reason else rules.client_payload(client), reason))

    site_rows, site_codes = [], {}
    for site in _records(select(Site.id, Site.code, Site.name, Site.client_id, Site.address,
                                          Site.postcode, Site.city).where(Site.tenant_id == tenant_id)
                                   .order_by(Site.code)):
        site_codes[site.id] = site.code
        client_code = client_codes.get(site.client_id)
        reason = rules.place_skip_reason("site", site.code, client_code, sent_clients)
        site_rows.append((site.code, None if reason else rules.site_payload(site, client_code), reason))

    job_rows = []
    for job_site in _records(select(JobSite.code, JobSite.name, JobSite.client_id, JobSite.site_id)
                                       .where(JobSite.tenant_id == tenant_id).order_by(JobSite.code)):
        client_code = client_codes.get(job_site.client_id)
        reason = rules.place_skip_reason("job_site", job_site.code, client_code, sent_clients)
        payload = None if reason else rules.job_site_payload(job_site, client_code, site_codes.get(job_site.site_id))
        job_rows.append((job_site.code, payload, reason))

    employee_rows = []
    for employee in _records(select(
            Employee.code, Employee.first_name, Employee.last_name, Employee.email, Employee.phone,
            Employee.hire_date, Employee.technician).where(Employee.tenant_id == tenant_id).order_by(Employee.code)):
        reason = rules.employee_skip_reason(employee, today)
        employee_rows.append((employee.code, None if reason else rules.technician_payload(employee), reason))

    prefix = labour_nature_prefix(tenant_id)
    family, subfamily = aliased(ArticleFamily), aliased(ArticleFamily)
    articles = select(
        Article.code, Article.label, Article.active, Article.sale_price, ArticleMapping.external_code,
        family.code.label("family_code"), subfamily.code.label("subfamily_code"),
        ProductNature.code.label("nature_code"), Unit.code.label("unit_code"),
    ).outerjoin(ArticleMapping, (ArticleMapping.article_id == Article.id)
                & (ArticleMapping.connector_id == connector_id)) \
        .outerjoin(family, family.id == Article.family_id).outerjoin(subfamily, subfamily.id == Article.subfamily_id) \
        .outerjoin(ProductNature, ProductNature.id == Article.nature_id).outerjoin(Unit, Unit.id == Article.unit_id) \
        .where(Article.tenant_id == tenant_id).order_by(Article.code)
    article_rows = []
    for article in _records(articles):
        reason = rules.article_skip_reason(article)
        payload = None if reason else rules.article_payload(
            article, article.external_code, article.family_code, article.subfamily_code, article.nature_code,
            article.unit_code, prefix)
        article_rows.append((article.external_code or article.code, payload, reason))
    return [("client", "/v1/customers", client_rows), ("site", "/v1/sites", site_rows),
            ("job_site", "/v1/contracts", job_rows), ("employee", "/v1/technicians", employee_rows),
            ("article", "/v1/items", article_rows)]


REMEMBER_ROWS = 5_000  # accepted rows recorded (one commit) at most this many at a time


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
    """The PUTs of a send, one at a time in a thread of their own, so that the run records
    a batch (sent records, report) while the next one travels and the peer reads it."""

    def __init__(self, peer):
        self.peer, self.app = peer, current_app._get_current_object()
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="field-service-send")

    def put(self, path: str, body):
        def call():
            with self.app.app_context():  # its messages are translated like the run's
                return self.peer.put(path, body)
        return self.pool.submit(call)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.pool.shutdown(wait=True, cancel_futures=True)


def _send(run, sender, size: int) -> None:
    connector = run.connector
    groups = _referential(connector.tenant_id, connector.id)
    db.session.rollback()  # the rows are read: no transaction stays open while the peer answers
    run.set_total(sum(len(rows) for _type, _path, rows in groups))
    for entity_type, path, rows in groups:
        payloads = {}
        for code, payload, reason in rows:
            if reason:
                run.item(entity_type, code, "skipped", reason)
            else:
                payloads[code] = payload
        digests: dict = {}
        to_send, unchanged = sent.changed(connector.id, entity_type, payloads, send_all=run.full_send,
                                          digests=digests)
        accepted: dict = {}
        pending = None  # the batch in flight: (future, batch, name)

        def settle(flight):
            nonlocal accepted
            future, batch, name = flight
            if future is not None:
                answer = future.result()  # the peer's failure (RunFailed) ends the run here
                if not isinstance(answer, dict) or "upserted" not in answer:
                    raise RunFailed(_("The application answered %(path)s without the number of rows "
                                      "upserted.", path=path))
                accepted.update(batch)
                if len(accepted) >= REMEMBER_ROWS:
                    sent.remember(run, entity_type, accepted, digests)
                    accepted = {}
            _count_rows(run, entity_type, name, [code for code, _payload in batch])

        try:
            for number, batch in enumerate(chunks(list(to_send.items()), size), start=1):
                name = f"{path.rsplit('/', 1)[-1]} #{number}"
                future = None if run.dry_run else sender.put(path, {"items": [p for _c, p in batch]})
                if pending is not None:  # recorded while the next batch travels
                    settle(pending)
                pending = (future, batch, name)
            if pending is not None:
                flight, pending = pending, None
                settle(flight)
        finally:  # what the peer accepted is recorded even when a later batch fails
            if pending is not None and pending[0] is not None:
                pending[0].cancel()
            sent.remember(run, entity_type, accepted, digests)
        if unchanged:
            _count_rows(run, entity_type, "", [""] * unchanged,
                        _("%(count)s unchanged since the last send: not sent again.", count=unchanged))


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
    try:  # the API key goes to the application's own address only
        response = (peer.session.get(url, timeout=peer.timeout) if same_origin
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
