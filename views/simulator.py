"""Price simulator: how the pricing rule builds an article's price with the tenant's
current coefficients, natures and valuation method."""
from decimal import Decimal

from flask import request
from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import StringField
from wtforms.validators import DataRequired, NumberRange

from core.extensions import db
from core.tenancy import PARAMETER_WRITERS, current_tenant_id
from models.invoices import InvoiceLine
from models.master_data import Article
from rules.pricing import ArticleCosts, PricingSettings, price_line
from spreadsheets import cells
from views.base import DecimalCommaField, SecuredView
from views.settings import settings_for


class SimulatorForm(FlaskForm):
    class Meta:
        csrf = False  # a read-only GET form: nothing is changed

    article = StringField(_l("Article code"), validators=[DataRequired()])
    quantity = DecimalCommaField(_l("Quantity"), default=Decimal("1"), limits=cells.limits_of(InvoiceLine.quantity),
                                 validators=[DataRequired(), NumberRange(min=Decimal("0.0001"))])


class PriceSimulatorView(SecuredView):
    read_roles = PARAMETER_WRITERS

    @expose("/")
    def index(self):
        form = SimulatorForm(request.args)
        settings = settings_for(current_tenant_id())
        pricing = PricingSettings.from_settings(settings)
        article, line = None, None
        if request.args and form.validate():
            article = db.session.execute(select(Article).where(
                Article.tenant_id == current_tenant_id(), Article.code == form.article.data.strip())
            ).scalar_one_or_none()
            if article is None:
                form.article.errors = [_("Unknown article code.")]
            else:
                line = price_line(ArticleCosts.from_article(article), form.quantity.data, pricing)
        return self.render("simulator.html", form=form, article=article, line=line, pricing=pricing,
                           price_method=settings.price_method)
