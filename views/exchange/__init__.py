"""Exchange screens: connectors (settings, run now, purge), runs (history, reports) and
article mappings (list, import, bulk grid)."""
from flask_admin.menu import MenuLink
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from core.tenancy import current_role, current_tenant_id
from models.exchange import ArticleMapping, Connector, SyncRun

EXCHANGES = _l("Exchanges")


class MappingGridLink(MenuLink):
    """The bulk grid of article mappings in the Exchanges menu (everyone reads it)."""

    def is_accessible(self):
        return current_user.is_authenticated and current_tenant_id() is not None and current_role() is not None


def register_exchange_views(admin) -> None:
    from views.exchange.connectors import ConnectorView
    from views.exchange.mappings import ArticleMappingView
    from views.exchange.reception import CsvReceptionView
    from views.exchange.runs import SyncRunView

    admin.add_view(ConnectorView(Connector, name=_l("Connectors"), category=EXCHANGES, endpoint="connectors",
                                 url="connectors"))
    admin.add_view(CsvReceptionView(name=_l("CSV reception"), category=EXCHANGES, endpoint="csv-reception",
                                    url="csv-reception"))
    admin.add_view(SyncRunView(SyncRun, name=_l("Run history"), category=EXCHANGES, endpoint="sync-runs",
                               url="sync-runs"))
    admin.add_view(ArticleMappingView(ArticleMapping, name=_l("Article mappings"), category=EXCHANGES,
                                      endpoint="article-mappings", url="article-mappings"))
    admin.add_link(MappingGridLink(name=_l("Article mappings: grid entry"), category=EXCHANGES,
                                   endpoint="article-mappings.bulk_view"))
