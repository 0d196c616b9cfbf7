"""Exchange screens: connectors (settings, run now, purge) and runs (history, reports)."""
from flask_babel import lazy_gettext as _l

from models.exchange import Connector, SyncRun

EXCHANGES = _l("Exchanges")


def register_exchange_views(admin) -> None:
    from views.exchange.connectors import ConnectorView
    from views.exchange.reception import CsvReceptionView
    from views.exchange.runs import SyncRunView

    admin.add_view(ConnectorView(Connector, name=_l("Connectors"), category=EXCHANGES, endpoint="connectors",
                                 url="connectors"))
    admin.add_view(CsvReceptionView(name=_l("CSV reception"), category=EXCHANGES, endpoint="csv-reception",
                                    url="csv-reception"))
    admin.add_view(SyncRunView(SyncRun, name=_l("Run history"), category=EXCHANGES, endpoint="sync-runs",
                               url="sync-runs"))
