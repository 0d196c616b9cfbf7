"""*Recevoir*: pending data integrated; and the scheduled / command-line receive,
which reads the waiting files first (``reception.read_files``), then integrates.

Parties first: a client or supplier is created with the connector's family, or
updated (name, address, postcode, city, e-mail, phone; never its family); a contact
goes under its party (a client, else a supplier, with the code of ``CodeParent``).
Then documents: one already integrated (same ``Reference``: its ``ReceivedDocument``
key) is ``skipped``, a ``warning`` when its content changed; one with any article
without mapping, an unknown party or a VAT rate no parameter has is an ``error``
item and stays pending; the others become draft orders or delivery notes (per the
settings) with the establishment, depot and payment method, numbered from their
sequence.

Speed (P1) with every document whole or absent: documents are integrated by
batches of ``CSV_EXCHANGE_BATCH_SIZE``. Everything that can refuse a document is
checked first with batched look-ups (one query per batch for received keys, the
codes and rates of its lines, mappings, clients, articles; the lines of a refused
document only are read). The amounts and totals were computed when the file was read
(``reception``, by the invoices' rules, in Decimal), so no line goes through Python:
the batch is written in one transaction, its numbers taken at once (one ``UPDATE …
RETURNING`` of the gapless sequence by the batch's count, given back by a rollback),
then headers, lines (``_copy_lines``) and received keys copied from the pending rows
by one ``INSERT … SELECT`` each, joined to what Python decided (numbers, clients,
mappings, rates: ``core.bulk.constant_rows``), pending rows deleted, and the batch's
run items and counts (``Run.items_with_batch``: committed with it). If the
database refuses the batch (another process integrated one of its documents
meanwhile: the unique keys), or its pending data changed since its checks
(``BatchChanged``), it is rolled back whole and its documents are integrated one by
one, each in its own transaction (``Run.document``: ``claim`` then
``create_sales_document``), so a loser's item says "already integrated" and the
others go in. The run is audited once (``Run.finish``), not row by row.
"""
from dataclasses import dataclass
from decimal import Decimal
from operator import itemgetter
from types import SimpleNamespace

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import (DateTime, Integer, Numeric, String, bindparam, case, cast, column, delete, func, insert,
                        literal, or_, select, update)
from sqlalchemy.exc import SQLAlchemyError

from core import transaction
from core.batching import chunks, collector_paused
from core.bulk import constant_rows, fast_insert, fast_rows
from core.extensions import db
from exchange.base import ItemError, RunFailed
from exchange.csv_exchange.reception import read_files, store_documents
from exchange.received import claim, known
from models import (Article, Client, ClientFamily, Contact, Depot, Establishment, NumberingSequence,
                    ReceivedDocument, Supplier, SupplierFamily, VatRate)
from models.base import utcnow
from models.pending import PendingDocument, PendingDocumentLine, PendingParty, delete_documents
from models.sales_documents import SALES_DOCUMENT_MODELS
from rules.mappings import mapped_articles
from rules.numbering import NumberingError, find_sequence, format_number
from rules.payments import one_of
from rules.sales_documents import SalesDocumentError, article_kinds, create_sales_document

DOCUMENTS, LINES, PARTIES = PendingDocument.__table__, PendingDocumentLine.__table__, PendingParty.__table__
CLIENTS, SUPPLIERS, CONTACTS = Client.__table__, Supplier.__table__, Contact.__table__
RECEIVED = ReceivedDocument.__table__
PARTY_FIELDS = ("name", "address", "postcode", "city", "email", "phone")
CHUNK = 500
UNREAD = ("connector_id", "read_at", "party_name")  # of the pending rows
# of a pending document, what its checks and items read (the rest is copied by the database)
DOCUMENT_FIELDS = ("id", "reference", "document_date", "party_code", "file_name")


def receive_all(run) -> None:
    """The kind's receive engine: read the waiting files, then integrate what can be."""
    reading = read_files(run) if run.only is None else None  # a retry: the failed items only
    integrate(run, reading)


def integrate_pending(run) -> None:
    """*Recevoir* on the reception screen: the pending data only."""
    integrate(run, None)


def origin_of(connector) -> str:
    return f"csv_exchange:{connector.id}"


def integrate(run, reading=None) -> None:
    """The pending parties, then documents, with the garbage collector paused: the pending
    rows and the rows written (some 100,000 small objects for 20,000 documents) would set
    off passes over the whole heap (see ``core.batching.collector_paused``)."""
    with collector_paused():
        _integrate(run, reading)


def _integrate(run, reading) -> None:
    parties = _pending(run, PARTIES, [] if reading is None else reading.parties, ("party_type", "code"))
    documents = _pending(run, DOCUMENTS, [] if reading is None else reading.documents, ("reference",),
                         DOCUMENT_FIELDS)
    parties = [party for party in parties if run.wanted("party", party["code"])]
    documents = [document for document in documents if run.wanted("document", document["reference"])]
    run.set_total(run.processed + len(parties) + len(documents))
    dry_clients = _integrate_parties(run, parties)
    _integrate_documents(run, documents, dry_clients)


def _pending(run, table, read: list[dict], key: tuple, fields=None) -> list[dict]:
    """The connector's pending rows in the order read (and, in a dry run, those just read,
    with their lines, which replace them), with their ``fields`` (by default all but
    ``UNREAD``)."""
    columns = [column for column in table.c if (column.name in fields if fields else column.name not in UNREAD)]
    keys = [column.name for column in columns]
    rows = sorted((dict(zip(keys, row)) for row in fast_rows(select(*columns).where(
        table.c.connector_id == run.connector.id))), key=itemgetter("id"))
    db.session.rollback()
    if read:
        fresh = {tuple(row[name] for name in key): row for row in read}
        rows = [row for row in rows if tuple(row[name] for name in key) not in fresh] + list(fresh.values())
    return rows


def _id_by_code(model, tenant_id: int, code: str | None) -> int | None:
    if not code:
        return None
    return db.session.scalar(select(model.id).where(model.tenant_id == tenant_id, model.code == code))


def _establishment_id(tenant_id: int, settings: dict) -> int | None:
    """The establishment that receives: the settings' one, else the dossier's only one (a
    dossier with several must name it: ``check_tenant_settings``)."""
    if settings.get("establishment"):
        return _id_by_code(Establishment, tenant_id, settings["establishment"])
    only = db.session.scalars(select(Establishment.id).where(Establishment.tenant_id == tenant_id).limit(2)).all()
    return only[0] if len(only) == 1 else None


def _ids_by_code(table, tenant_id: int, codes, columns=()) -> dict:
    codes = list(dict.fromkeys(codes))
    if not codes:
        return {}
    return {row.code: row for row in db.session.execute(select(
        table.c.id, table.c.code, *[table.c[name] for name in columns]).where(
        table.c.tenant_id == tenant_id, one_of(table.c.code, codes))).all()}  # one parameter, not an IN of 2,000


def _client_ids(tenant_id: int, codes) -> dict[str, int]:
    """``{code: id}`` of the tenant's clients among ``codes``, as plain tuples."""
    return dict(fast_rows(select(CLIENTS.c.code, CLIENTS.c.id).where(
        CLIENTS.c.tenant_id == tenant_id, one_of(CLIENTS.c.code, codes)))) if codes else {}


def _delete_pending(ids, table=DOCUMENTS) -> int:
    """The pending rows ``ids`` (and a document's lines), by runs of consecutive ids (rows
    read from one file in a row: usually one range per batch instead of lists of 500 ids);
    how many there were."""
    ranges, deleted = _runs(sorted({row_id for row_id in ids if row_id is not None})), 0
    for part in chunks(ranges, CHUNK // 2):
        condition = or_(*[table.c.id.between(low, high) for low, high in part])
        if table is DOCUMENTS:
            deleted += delete_documents(condition)
        else:
            deleted += db.session.execute(delete(table).where(condition)).rowcount
    return deleted


def _runs(ids: list[int]) -> list[tuple[int, int]]:
    """(first, last) of each run of consecutive integers of sorted ``ids``."""
    runs = []
    for row_id in ids:
        if runs and runs[-1][1] == row_id - 1:
            runs[-1][1] = row_id
        else:
            runs.append([row_id, row_id])
    return [(low, high) for low, high in runs]


# --- parties ----------------------------------------------------------------------------------------

@dataclass
class PartyWrites:
    inserts: dict
    updates: dict
    outcomes: list  # (party, state, message)
    done: list      # pending ids integrated


def _plan_parties(parties, existing, families) -> PartyWrites:
    """What writing ``parties`` (clients and suppliers) takes, checked in Python first."""
    writes = PartyWrites({"CLIENT": [], "FOURNISSEUR": []}, {"CLIENT": [], "FOURNISSEUR": []}, [], [])
    words = {kind: {"party": word} for kind, word in (("CLIENT", _("Client")), ("FOURNISSEUR", _("Supplier")))}
    created, updated = _("%(party)s created."), _("%(party)s updated (its family is left as it is).")
    unchanged = _("%(party)s already up to date.")
    for party in parties:
        kind = party["party_type"]
        values = {name: party[name] for name in PARTY_FIELDS}
        row = existing[kind].get(party["code"])
        if row is None:
            family = {"client_family_id": families[0]} if kind == "CLIENT" else {"supplier_family_id": families[1]}
            writes.inserts[kind].append({"tenant_id": party["tenant_id"], "code": party["code"], **values, **family})
            writes.outcomes.append((party, "ok", created % words[kind]))
        elif any((getattr(row, name) or "") != values[name] for name in PARTY_FIELDS):
            writes.updates[kind].append({"b_id": row.id, **{f"b_{name}": values[name] for name in PARTY_FIELDS}})
            writes.outcomes.append((party, "ok", updated % words[kind]))
        else:
            writes.outcomes.append((party, "skipped", unchanged % words[kind]))
        writes.done.append(party.get("id"))
    return writes


def _write_parties(run, writes: PartyWrites, record: bool = True) -> None:
    for kind, table in (("CLIENT", CLIENTS), ("FOURNISSEUR", SUPPLIERS)):
        fast_insert(table, writes.inserts[kind])
        if writes.updates[kind]:
            db.session.execute(update(table).where(table.c.id == bindparam("b_id"))
                               .values({name: bindparam(f"b_{name}") for name in PARTY_FIELDS}),
                               writes.updates[kind], execution_options={"synchronize_session": False})
    _delete_pending(writes.done, PARTIES)
    if record:
        run.items_with_batch("party", [(party["code"], state, message, party.get("file_name") or "")
                                       for party, state, message in writes.outcomes])


def _integrate_parties(run, parties: list[dict]) -> set:
    """Clients and suppliers, then contacts; the client codes a dry run "created"."""
    tenant_id, settings = run.connector.tenant_id, run.settings
    families = (_id_by_code(ClientFamily, tenant_id, settings.get("client_family")),
                _id_by_code(SupplierFamily, tenant_id, settings.get("supplier_family")))
    companies = [party for party in parties if party["party_type"] != "CONTACT"]
    contacts = [party for party in parties if party["party_type"] == "CONTACT"]
    size = current_app.config["CSV_EXCHANGE_BATCH_SIZE"]
    dry_clients, dry_suppliers = set(), set()
    for batch in chunks(companies, size):
        existing = {kind: _ids_by_code(table, tenant_id, [p["code"] for p in batch if p["party_type"] == kind],
                                       PARTY_FIELDS)
                    for kind, table in (("CLIENT", CLIENTS), ("FOURNISSEUR", SUPPLIERS))}
        db.session.rollback()
        writes = _plan_parties(batch, existing, families)
        if run.dry_run:
            dry_clients.update(row["code"] for row in writes.inserts["CLIENT"])
            dry_suppliers.update(row["code"] for row in writes.inserts["FOURNISSEUR"])
        written = _in_one_transaction(run, lambda: _write_parties(run, writes))
        run.batch_ended(written)
        if written:
            continue
        for party in batch:  # the database refused the batch: each party on its own
            with run.document("party", party["code"], party.get("file_name") or "") as outcome:
                one = _plan_parties([party], existing, families)
                _write_parties(run, one, record=False)
                _party, state, message = one.outcomes[0]
                if state == "skipped":
                    outcome.skip(message)
    for batch in chunks(contacts, size):
        _integrate_contacts(run, batch, dry_clients | dry_suppliers)
    return dry_clients


def _in_one_transaction(run, write) -> bool:
    """``write()`` in one transaction (rolled back in a dry run); False when the database refused it."""
    if run.lease_lost.is_set():
        raise RunFailed(_("The run lost its lease (closed by another process); it stopped."))
    try:
        with transaction.document(run.dry_run):
            write()
    except (SQLAlchemyError, BatchChanged):
        current_app.logger.info("run %s: a batch was refused, integrated one by one", run.id, exc_info=True)
        return False
    return True


def _integrate_contacts(run, contacts: list[dict], dry_parents: set) -> None:
    tenant_id = run.connector.tenant_id
    parents = [contact["parent_code"] for contact in contacts]
    clients = _ids_by_code(CLIENTS, tenant_id, parents)
    suppliers = _ids_by_code(SUPPLIERS, tenant_id, parents)
    existing = _ids_by_code(CONTACTS, tenant_id, [c["code"] for c in contacts],
                            ("name", "email", "phone", "client_id", "supplier_id"))
    db.session.rollback()
    for contact in contacts:
        parent = contact["parent_code"]
        client, supplier = clients.get(parent), suppliers.get(parent)
        if client is None and supplier is None:
            if run.dry_run and parent in dry_parents:  # its party is created by this (dry) run
                run.item("party", contact["code"], "ok", _("Contact created."), contact.get("file_name") or "")
                continue
            run.item("party", contact["code"], "error",
                     _("Contact %(code)s: unknown party %(parent)s (it stays pending).", code=contact["code"],
                       parent=parent), contact.get("file_name") or "")
            continue
        values = {"name": contact["name"], "email": contact["email"], "phone": contact["phone"],
                  "client_id": client.id if client else None, "supplier_id": None if client else supplier.id}
        row = existing.get(contact["code"])
        with run.document("party", contact["code"], contact.get("file_name") or "") as outcome:
            if row is None:
                db.session.execute(insert(CONTACTS).values(tenant_id=tenant_id, code=contact["code"], **values))
            elif any(getattr(row, name) != value for name, value in values.items()):
                db.session.execute(update(CONTACTS).where(CONTACTS.c.id == row.id).values(**values))
            else:
                outcome.skip(_("Contact already up to date."))
            _delete_pending([contact.get("id")], PARTIES)
            if outcome.state == "ok":
                outcome.message = _("Contact created.") if row is None else _("Contact updated.")


# --- documents --------------------------------------------------------------------------------------

def _vat_rates(tenant_id: int) -> dict[Decimal, int]:
    """The tenant's VAT rate parameters by rate (several with one rate: the lowest code)."""
    rates = {}
    for row in db.session.execute(select(VatRate.id, VatRate.rate).where(VatRate.tenant_id == tenant_id)
                                  .order_by(VatRate.code.desc())):
        rates[Decimal(row.rate).quantize(Decimal("0.01"))] = row.id
    return rates


@dataclass
class Settings:
    document_type: str
    establishment_id: int | None
    depot_id: int | None
    origin: str
    vat_rates: dict  # rate -> VAT rate id


def _received_message(integrated_hash: str, content_hash: str) -> tuple[str, str]:
    if integrated_hash and integrated_hash != content_hash:
        return "warning", _("Already integrated; the document received again differs from the one integrated "
                            "(not changed).")
    return "skipped", _("Already integrated.")


def _integrate_documents(run, documents: list[dict], dry_clients: set) -> None:
    if not documents:
        return
    connector, tenant_id, settings = run.connector, run.connector.tenant_id, run.settings
    config = Settings(settings.get("document_type") or "order", _establishment_id(tenant_id, settings),
                      _id_by_code(Depot, tenant_id, settings.get("depot")), origin_of(connector),
                      _vat_rates(tenant_id))
    sequence_id = None
    size = current_app.config["CSV_EXCHANGE_BATCH_SIZE"]
    for batch in chunks(documents, size):
        integrated = {key: record.content_hash for key, record in  # read before the rollback
                      known(connector.id, [document["reference"] for document in batch]).items()}
        codes, rates = _codes_and_rates(batch)
        articles = _articles(tenant_id, connector.id, codes)
        clients = _client_ids(tenant_id, {document["party_code"] for document in batch})
        unmapped, unknown_rates = codes - articles.keys(), {rate for rate in rates if rate not in config.vat_rates}
        faults = _faults(batch, unmapped, unknown_rates) if unmapped or unknown_rates else {}
        hashes = _content_hashes([document for document in batch if document["reference"] in integrated])
        db.session.rollback()
        ready, skipped, refused = [], [], []
        for document in batch:
            reference = document["reference"]
            if reference in integrated:
                skipped.append((document, *_received_message(integrated[reference], hashes[reference])))
                continue
            created_by_dry_run = run.dry_run and document["party_code"] in dry_clients
            client_id = clients.get(document["party_code"])
            if reference in faults or (client_id is None and not created_by_dry_run):
                problem = _problem(document, *faults.get(reference, ((), ())), client_id is not None
                                   or created_by_dry_run)
                refused.append((reference, "error", problem, document.get("file_name") or ""))
                continue
            ready.append(_ready(document, client_id))
        run.items("document", refused)
        if skipped:
            _in_one_transaction(run, lambda: _delete_pending([d.get("id") for d, *_rest in skipped]))
            run.items("document", [(document["reference"], state, message, document.get("file_name") or "")
                                   for document, state, message in skipped])
        if not ready:
            continue
        if sequence_id is None:
            try:
                sequence_id = find_sequence(tenant_id, config.document_type, config.establishment_id).id
            except NumberingError as error:
                raise RunFailed(str(error))
            db.session.rollback()
        writable = [document for document in ready if document.client_id is not None]
        written = bool(writable) and _in_one_transaction(run, lambda: _write_batch(
            run, ready, writable, sequence_id, config, articles))
        run.batch_ended(written)
        if writable and not written:
            for document in ready:
                if document.client_id is None:
                    run.item("document", document.reference, "ok", _("Document integrated."), document.file_name)
                else:
                    _one_by_one(run, document, config, articles)
            # a document another process integrated meanwhile: its pending row is done with
            keys = known(connector.id, [document.reference for document in writable])
            _in_one_transaction(run, lambda: _delete_pending(
                [d.pending_id for d in writable if d.reference in keys]))
            continue
        if not writable:  # a dry run's documents of clients it "created"
            run.items("document", _integrated(ready, {}))


def _fresh(document) -> bool:
    """A dry run's document just read: not in the database, its lines in memory."""
    return "lines" in document


def _stored_ids(batch) -> list[int]:
    """The pending ids of the documents of ``batch`` stored in the database."""
    return [document["id"] for document in batch if not _fresh(document)]


def _content_hashes(documents) -> dict[str, str]:
    """``{reference: content hash}`` of ``documents`` (those already integrated: a warning
    says when the one received again differs)."""
    stored = _stored_values(_stored_ids(documents), "content_hash")
    return {document["reference"]: document["content_hash"] if _fresh(document)
            else stored.get(document["id"], ("",))[0] for document in documents}


def _codes_and_rates(batch) -> tuple[set, set]:
    """The article codes and VAT rates of the lines of ``batch``, in one query."""
    codes, rates = set(), set()
    stored = _stored_ids(batch)
    if stored:
        for code, rate in fast_rows(select(LINES.c.code, LINES.c.vat_rate).distinct().where(
                one_of(LINES.c.pending_document_id, stored, Integer))):
            codes.add(code)
            rates.add(rate)
    for document in batch:
        for line in document.get("lines", ()):
            codes.add(line["code"])
            rates.add(line["vat_rate"])
    return codes, rates


def _articles(tenant_id: int, connector_id: int, codes) -> dict[str, tuple]:
    """``{external code: (article id, kind, unit id)}`` of the mapped ``codes``: what a line takes."""
    mapped = mapped_articles(connector_id, codes)
    units = {row.id: row.unit_id for row in db.session.execute(
        select(Article.id, Article.unit_id).where(Article.tenant_id == tenant_id,
                                                   Article.id.in_(set(mapped.values()))))}
    kinds = article_kinds(tenant_id, units)
    return {code: (article_id, kinds.get(article_id, "supply"), units.get(article_id))
            for code, article_id in mapped.items()}


def _faults(batch, unmapped: set, unknown_rates: set) -> dict[str, tuple[set, set]]:
    """``{reference: (its codes without mapping, its rates without parameter)}`` of the
    documents of ``batch`` that have any: only their lines are read."""
    found: dict[str, tuple[set, set]] = {}

    def add(reference, code, rate):
        codes, rates = found.setdefault(reference, (set(), set()))
        if code in unmapped:
            codes.add(code)
        if rate in unknown_rates:
            rates.add(rate)

    stored = _stored_ids(batch)
    if stored:
        references = {document["id"]: document["reference"] for document in batch if not _fresh(document)}
        for pending_id, code, rate in fast_rows(select(LINES.c.pending_document_id, LINES.c.code, LINES.c.vat_rate)
                                                .where(one_of(LINES.c.pending_document_id, stored, Integer),
                                                       or_(one_of(LINES.c.code, unmapped),
                                                           LINES.c.vat_rate.in_(unknown_rates)))):
            add(references[pending_id], code, rate)
    for document in batch:
        for line in document.get("lines", ()):
            if line["code"] in unmapped or line["vat_rate"] in unknown_rates:
                add(document["reference"], line["code"], line["vat_rate"])
    return found


def _problem(document, unmapped, unknown_rates, client_known: bool) -> str:
    if unmapped:
        return _("Articles without mapping: %(codes)s (the document stays pending).",
                 codes=", ".join(sorted(unmapped)))
    if not client_known:
        return _("Unknown client %(code)s: send its parties file or create it (the document stays pending).",
                 code=document["party_code"])
    return _("No VAT rate parameter for the rate %(rates)s (the document stays pending).",
             rates=", ".join(f"{rate.normalize():f}".replace(".", ",") for rate in sorted(unknown_rates)))


def _ready(document, client_id: int | None) -> SimpleNamespace:
    """A document ready to write. A dry run's document just read keeps its pending row
    (``fresh``, with its lines and totals): it is not in the database."""
    fresh = document if _fresh(document) else None
    return SimpleNamespace(pending_id=document.get("id"), reference=document["reference"],
                           document_date=document["document_date"], client_id=client_id,
                           file_name=document.get("file_name") or "", lines=fresh and fresh["lines"], fresh=fresh)


def _stored_values(pending_ids: list[int], *names) -> dict[int, tuple]:
    """``{pending id: (values of names)}`` of stored pending documents: what the batch path
    leaves to the database, read for the few documents that need it in Python."""
    if not pending_ids:
        return {}
    return {row[0]: row[1:] for row in fast_rows(select(DOCUMENTS.c.id, *[DOCUMENTS.c[name] for name in names])
                                                 .where(one_of(DOCUMENTS.c.id, pending_ids, Integer)))}


def _line_rows(document, articles: dict, config: Settings) -> list[dict]:
    """The lines of ``document`` as ``create_sales_document`` takes them, from its pending lines."""
    lines = document.lines if document.lines is not None else [
        dict(zip(("position", "code", "label", "quantity", "unit_price", "vat_rate"), row)) for row in fast_rows(
            select(LINES.c.position, LINES.c.code, LINES.c.label, LINES.c.quantity, LINES.c.unit_price,
                   LINES.c.vat_rate).where(LINES.c.pending_document_id == document.pending_id)
            .order_by(LINES.c.position))]
    if not lines:
        raise ItemError(_("The document was read again meanwhile: it is integrated by the next receive."))
    rows = []
    for line in lines:
        article_id, kind, unit_id = articles[line["code"]]
        rows.append({"article_id": article_id, "label": line["label"], "quantity": line["quantity"],
                     "unit_price": line["unit_price"], "vat_rate_id": config.vat_rates[line["vat_rate"]],
                     "unit_id": unit_id, "kind": kind, "position": line["position"]})
    return rows


def _take_numbers(sequence_id: int, count: int, last_date) -> list[tuple[int, str]]:
    """``count`` consecutive numbers of the sequence at once (its lock held until the commit)."""
    sequence = NumberingSequence.__table__
    last = sequence.c.last_document_date
    statement = (update(sequence).where(sequence.c.id == sequence_id).values(
        next_number=sequence.c.next_number + count, highest_number_used=sequence.c.next_number + count - 1,
        last_document_date=case((or_(last.is_(None), last <= last_date), last_date), else_=last))
        .returning(sequence.c.highest_number_used, sequence.c.prefix, sequence.c.padding))
    highest, prefix, padding = db.session.execute(statement).one()
    return [(number, format_number(prefix, padding, number)) for number in range(highest - count + 1, highest + 1)]


def _integrated(ready, created: dict) -> list[tuple]:
    """The items of ``ready`` documents once written (``created``: their numbers by reference),
    in the order of the file, as a dry run reports them too."""
    template, integrated = _("Document %(number)s created as a draft."), _("Document integrated.")
    return [(document.reference, "ok", template % {"number": created[document.reference]}
             if document.reference in created else integrated, document.file_name) for document in ready]


def _write_batch(run, ready, documents, sequence_id: int, config: Settings, articles: dict) -> None:
    """``documents`` (those of ``ready`` with a client) written from their pending rows,
    and the items of ``ready``. A dry run's documents just read are stored as pending
    rows first (rolled back with the rest)."""
    header_model, line_model = SALES_DOCUMENT_MODELS[config.document_type]
    headers, lines_table = header_model.__table__, line_model.__table__
    tenant_id, now = run.connector.tenant_id, utcnow()
    pending_ids = {document.reference: document.pending_id for document in documents if document.fresh is None}
    fresh = [document.fresh for document in documents if document.fresh is not None]
    if fresh:
        pending_ids.update(store_documents(run.connector.id, fresh))
    numbers = _take_numbers(sequence_id, len(documents), max(document.document_date for document in documents))
    numbered = constant_rows("numbered", [column("pending_id", Integer), column("number", String),
                                          column("sequence_number", Integer), column("client_id", Integer)],
                             [(pending_ids[document.reference], formatted, number, document.client_id)
                              for document, (number, formatted) in zip(documents, numbers)])
    db.session.execute(insert(headers).from_select(HEADER_COLUMNS, select(
        literal(tenant_id, Integer), numbered.c.number, literal("draft", String), DOCUMENTS.c.document_date,
        literal(config.origin, String), DOCUMENTS.c.reference, DOCUMENTS.c.payment_method, DOCUMENTS.c.total,
        DOCUMENTS.c.total_vat, DOCUMENTS.c.total_incl_vat, numbered.c.sequence_number, numbered.c.client_id,
        cast(literal(config.establishment_id, Integer), Integer), cast(literal(config.depot_id, Integer), Integer),
        literal(sequence_id, Integer), literal(now, DateTime)).select_from(
        numbered.join(DOCUMENTS, DOCUMENTS.c.id == numbered.c.pending_id))))
    # their ids by their numbers, consecutive in the sequence: one range of its index (a row of
    # the range with another number, from before a change of prefix, is not one of these)
    by_number = dict(db.session.execute(select(headers.c.number, headers.c.id).where(
        headers.c.numbering_sequence_id == sequence_id,
        headers.c.sequence_number.between(numbers[0][0], numbers[-1][0]))).all())
    if any(formatted not in by_number for _number, formatted in numbers):
        raise BatchChanged("pending documents gone before their headers were written")
    made = [(pending_ids[document.reference], by_number[formatted])
            for document, (_number, formatted) in zip(documents, numbers)]
    made_rows = constant_rows("made", [column("pending_id", Integer), column("document_id", Integer)], made)
    _copy_lines(lines_table, _parent_column(lines_table, headers), tenant_id, made, made_rows, articles, config)
    db.session.execute(insert(RECEIVED).from_select(RECEIVED_COLUMNS, select(
        literal(tenant_id, Integer), literal(run.connector.id, Integer), DOCUMENTS.c.reference,
        literal(config.document_type, String), made_rows.c.document_id, DOCUMENTS.c.content_hash,
        literal(run.id, Integer), literal(now, DateTime)).select_from(
        made_rows.join(DOCUMENTS, DOCUMENTS.c.id == made_rows.c.pending_id))))
    if _delete_pending(pending_ids.values()) != len(pending_ids):
        raise BatchChanged("pending documents gone")
    run.items_with_batch("document", _integrated(ready, {
        document.reference: formatted for document, (_number, formatted) in zip(documents, numbers)}))


HEADER_COLUMNS = ["tenant_id", "number", "state", "document_date", "origin", "external_reference", "payment_method",
                  "total_excl_vat", "total_vat", "total_incl_vat", "sequence_number", "client_id",
                  "establishment_id", "depot_id", "numbering_sequence_id", "created_at"]
RECEIVED_COLUMNS = ["tenant_id", "connector_id", "external_key", "document_type", "document_id", "content_hash",
                    "run_id", "received_at"]


def _parent_column(lines_table, headers) -> str:
    return next(fk.parent.name for fk in lines_table.foreign_keys if fk.column.table is headers)


def _copy_lines(lines_table, parent: str, tenant_id: int, made: list[tuple[int, int]], made_rows, articles: dict,
                config: Settings) -> None:
    """The pending lines of the documents ``made`` (pending id, id of the document made of
    it; ``made_rows`` the same as a table) copied into ``lines_table`` by ``INSERT …
    SELECT``, joined to what their article code and rate take (``articles``, the VAT rate
    parameters): no Python step per line. Every line of those documents is copied, or
    ``BatchChanged``."""
    rates = constant_rows("rates", [column("rate", Numeric(5, 2)), column("vat_rate_id", Integer)],
                          list(config.vat_rates.items()))
    codes = constant_rows("mapped", [column("code", String), column("article_id", Integer), column("kind", String),
                                     column("unit_id", Integer)],
                          [(code, article_id, kind, unit_id) for code, (article_id, kind, unit_id) in articles.items()])
    source = select(literal(tenant_id, Integer), made_rows.c.document_id, LINES.c.position, LINES.c.label,
                    codes.c.kind, LINES.c.quantity, LINES.c.unit_price, LINES.c.amount, codes.c.article_id,
                    rates.c.vat_rate_id, codes.c.unit_id).select_from(
        made_rows.join(LINES, LINES.c.pending_document_id == made_rows.c.pending_id)
        .join(codes, codes.c.code == LINES.c.code).join(rates, rates.c.rate == LINES.c.vat_rate))
    db.session.execute(insert(lines_table).from_select(
        ["tenant_id", parent, "position", "label", "kind", "quantity", "unit_price", "amount", "article_id",
         "vat_rate_id", "unit_id"], source))
    # counted, not the statement's row count: Python's sqlite3 gives none for a WITH statement
    copied = db.session.scalar(select(func.count()).select_from(lines_table).where(
        one_of(lines_table.c[parent], [document_id for _pending_id, document_id in made], Integer)))
    expected = db.session.scalar(select(func.count()).select_from(LINES).where(
        one_of(LINES.c.pending_document_id, [pending_id for pending_id, _document_id in made], Integer)))
    if copied != expected:
        raise BatchChanged(f"{copied} lines copied of {expected}")


class BatchChanged(Exception):
    """The pending data of a batch changed between its checks and its writing (read again
    meanwhile, a mapping changed): the batch is rolled back and integrated one by one."""


def _one_by_one(run, document, config: Settings, articles: dict) -> None:
    """One document in its own transaction: its key claimed first (a loser says "already integrated")."""
    tenant_id = run.connector.tenant_id
    if document.fresh:
        payment_method, content_hash = document.fresh["payment_method"], document.fresh["content_hash"]
    else:  # gone (read again meanwhile): _line_rows says so
        payment_method, content_hash = _stored_values([document.pending_id], "payment_method", "content_hash").get(
            document.pending_id, ("", ""))
    with run.document("document", document.reference, document.file_name) as outcome:
        record = claim(run, document.reference, config.document_type, content_hash)
        try:
            created = create_sales_document(
                config.document_type, tenant_id, client_id=document.client_id, document_date=document.document_date,
                lines=_line_rows(document, articles, config),
                establishment_id=config.establishment_id, depot_id=config.depot_id,
                payment_method=payment_method, external_reference=document.reference,
                origin=config.origin)
        except (SalesDocumentError, NumberingError) as error:
            raise ItemError(str(error))
        except SQLAlchemyError as error:
            raise ItemError(_("The database refused the document: %(error)s",
                              error=str(getattr(error, "orig", error)).splitlines()[0][:200]))
        record.document_id = created.id
        _delete_pending([document.pending_id])
        outcome.message = _("Document %(number)s created as a draft.", number=created.number)
