"""SQLAlchemy tables only. Importing this package registers every table on ``db.metadata``."""
from models.audit import AuditLogEntry
from models.master_data import (
    Article, Client, Contact, Contract, Employee, Equipment, JobSite, Site, Supplier,
)
from models.parameters import (
    AdditionalCostTable, ArticleFamily, ClientFamily, Depot, DocumentTitle, Establishment,
    NumberingSequence, OperationCode, PriceCategory, ProductNature, Sector, SupplierFamily,
    TextCode, Unit, VatRate,
)
from models.exchange import (
    ArticleMapping, Connector, ExchangeWatermark, ReceivedDocument, SentRecord, SyncRun, SyncRunItem,
)
from models.invoices import Invoice, InvoiceAttachment, InvoiceDocument, InvoiceLine
from models.payments import Payment, PaymentImportBatch
from models.sales_documents import DeliveryNote, DeliveryNoteLine, Order, OrderLine
from models.scheduler import APSCHEDULER_JOBS, SchedulerLease, SchedulerProcess
from models.settings import DossierSettings
from models.tenancy import ROLES, Membership, Tenant, User

__all__ = [
    "AdditionalCostTable", "ArticleFamily", "AuditLogEntry", "ClientFamily", "Depot", "DocumentTitle",
    "DossierSettings", "Establishment", "Membership", "NumberingSequence", "OperationCode",
    "PriceCategory", "ProductNature", "ROLES", "Sector", "SupplierFamily", "Tenant", "TextCode",
    "Unit", "User", "VatRate",
    "Invoice", "InvoiceAttachment", "InvoiceDocument", "InvoiceLine", "Payment", "PaymentImportBatch",
    "DeliveryNote", "DeliveryNoteLine", "Order", "OrderLine",
    "ArticleMapping", "Connector", "ExchangeWatermark", "ReceivedDocument", "SentRecord", "SyncRun", "SyncRunItem",
    "APSCHEDULER_JOBS", "SchedulerLease", "SchedulerProcess", "PendingDocument", "PendingDocumentLine", "PendingParty",
    # master data
    "Article", "Client", "Contact", "Contract", "Employee", "Equipment", "JobSite", "Site", "Supplier",
]
from models.pending import PendingDocument, PendingDocumentLine, PendingParty
