"""Registers every screen on the Flask-Admin instance."""
from flask_babel import lazy_gettext as _l

from models import (
    AuditLogEntry, DeliveryNote, DossierSettings, Invoice, Order, Payment, PaymentImportBatch, Tenant, User,
)
from views.account import PasswordView
from views.administration import ADMINISTRATION, AuditLogView, TenantView, UserView
from views.master_data import MASTER_DATA, MASTER_DATA_SCREENS
from views.exchange import register_exchange_views
from views.invoices import InvoiceView
from views.parameters import PARAMETER_SCREENS, PARAMETERS
from views.sales_documents import SALES, DeliveryNoteView, OrderView
from views.payments import PAYMENTS, PaymentBatchView, PaymentImportLink, PaymentView
from views.settings import DossierSettingsView
from views.synthesis import JobSiteSynthesisView
from views.simulator import PriceSimulatorView


def register_views(admin) -> None:
    for model, view_class, url_name, label in MASTER_DATA_SCREENS:
        admin.add_view(view_class(model, name=label, category=MASTER_DATA, endpoint=url_name, url=url_name))
    admin.add_view(InvoiceView(Invoice, name=_l("Invoices"), endpoint="invoices", url="invoices"))
    admin.add_view(OrderView(Order, name=_l("Orders"), category=SALES, endpoint="orders", url="orders"))
    admin.add_view(DeliveryNoteView(DeliveryNote, name=_l("Delivery notes"), category=SALES,
                                    endpoint="delivery-notes", url="delivery-notes"))
    admin.add_view(PaymentView(Payment, name=_l("Payments"), category=PAYMENTS, endpoint="payments", url="payments"))
    admin.add_link(PaymentImportLink(name=_l("Import from the accounting"), category=PAYMENTS,
                                     endpoint="payments.import_view"))
    admin.add_view(PaymentBatchView(PaymentImportBatch, name=_l("Payment imports"), category=PAYMENTS,
                                    endpoint="payment-batches", url="payment-batches"))
    admin.add_view(JobSiteSynthesisView(name=_l("Job-site synthesis"), category=PAYMENTS,
                                        endpoint="job-site-synthesis", url="job-site-synthesis"))
    admin.add_view(DossierSettingsView(DossierSettings, name=_l("Dossier settings"), category=PARAMETERS,
                                       endpoint="dossier-settings", url="dossier-settings"))
    for model, view_class, url_name, label in PARAMETER_SCREENS:
        admin.add_view(view_class(model, name=label, category=PARAMETERS, endpoint=url_name, url=url_name))
    admin.add_view(PriceSimulatorView(name=_l("Price simulator"), category=PARAMETERS, endpoint="price-simulator",
                                      url="price-simulator"))
    register_exchange_views(admin)
    admin.add_view(TenantView(Tenant, name=_l("Tenants"), category=ADMINISTRATION, endpoint="tenants",
                              url="tenants"))
    admin.add_view(UserView(User, name=_l("Users"), category=ADMINISTRATION, endpoint="users", url="users"))
    admin.add_view(PasswordView(name=_l("Change my password"), endpoint="password", url="password"))
    admin.add_view(AuditLogView(AuditLogEntry, name=_l("Audit log"), category=ADMINISTRATION,
                                endpoint="audit-log", url="audit-log"))
