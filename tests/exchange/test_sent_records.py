"""The fingerprints a send records (``exchange.sent.remember_digests``, one JSON parameter
per upsert) read back as written, whatever the characters of the codes, and replaced by
a later record of the same rows."""
from exchange import sent

from fs_peer import make_fs_connector

CODES = ['Café "crème"', "a\\b", "tab\tline\nend", "€ 100 %", "x" * 200, "'; DROP TABLE x; --"]


def test_recorded_fingerprints_read_back_as_written_and_are_replaced(app_ctx, tenants):
    tenant_id = tenants["ACME"]
    connector_id = make_fs_connector(tenant_id, "http://127.0.0.1:1")
    first = {code: f"{n:064x}" for n, code in enumerate(CODES)}
    sent.remember_digests(tenant_id, connector_id, "article", first)
    assert sent.last_accepted(connector_id, "article") == first
    later = {CODES[0]: "f" * 64, "NEW": "e" * 64}
    sent.remember_digests(tenant_id, connector_id, "article", later)
    assert sent.last_accepted(connector_id, "article") == {**first, **later}
    assert sent.last_accepted(connector_id, "client") == {}
