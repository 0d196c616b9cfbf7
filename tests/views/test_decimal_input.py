from decimal import Decimal

from core.extensions import db
from models import ProductNature


def test_decimal_fields_accept_a_decimal_comma(app, browser, tenants):
    b = browser("consultant@acme.test")
    response = b.post("/admin/product-natures/new/", {"code": "4MOS", "label": "Main-d'œuvre spécialisée",
                                                       "overhead_coefficient": "1,15", "active": "y"})
    assert response.status_code == 302
    with app.app_context():
        assert db.session.query(ProductNature).one().overhead_coefficient == Decimal("1.15")
