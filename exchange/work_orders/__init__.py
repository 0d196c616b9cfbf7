"""``work_orders``: the work-order application (exchanges.md, Kind 3).

Products go out one way (``PUT /v1/inventory``, at most 2,500, no prices; see
``inventory``); signed work orders come in by webhook
(``POST /hooks/work-orders/<tenant code>/<connector code>``, see ``webhook``) and
become priced draft invoices (``drafts``: matching and pricing, plain functions).
Each delivery is its own short run (trigger ``webhook``, no lease); a manual
receive has nothing to fetch and says so.
"""
from flask_babel import lazy_gettext as _l

from exchange.base import DECIMAL, SECRET, TEXT, Kind, Setting, register_kind
from exchange.work_orders.inventory import send
from exchange.work_orders.settings import check_in_tenant, check_settings
from exchange.work_orders.webhook import receive

KIND = register_kind(Kind(
    name="work_orders",
    label=_l("Work-order application"),
    settings=(
        Setting("base_url", _l("Base URL"), TEXT, required=True,
                help=_l("Address of the work-order application's API, e.g. https://app.example/api.")),
        Setting("api_key", _l("API key"), SECRET, help=_l("Sent in X-Api-Key when the products are sent.")),
        Setting("inbound_token", _l("Inbound token"), SECRET, required=True,
                help=_l("The X-Api-Key the work-order application sends with each work order.")),
        Setting("signing_secret", _l("Signing secret"), SECRET,
                help=_l("Optional: work orders must then carry a valid X-Signature. During a rotation, "
                        "give the two secrets separated by a comma.")),
        Setting("mileage_rate", _l("Mileage rate per km (excl. VAT)"), DECIMAL, minimum=0,
                help=_l("Empty: the mileage article's sale price.")),
        Setting("mileage_article", _l("Mileage article"), TEXT,
                help=_l("Article code; empty: the mileage article of the dossier settings.")),
        Setting("labour_article", _l("Labour article"), TEXT, required=True, help=_l("Article code.")),
        Setting("product_filter", _l("Product filter (article family codes)"), TEXT, default="",
                help=_l("Comma-separated article family codes; empty: every active article.")),
        Setting("send_schedule", _l("Send schedule"), TEXT, default="",
                help=_l("every:<minutes> or a five-field cron expression; empty: no schedule.")),
    ),
    engines={"send": send, "receive": receive},
    check=check_settings,
    check_in_tenant=check_in_tenant,
    creates=lambda settings: {"invoice"},
))
