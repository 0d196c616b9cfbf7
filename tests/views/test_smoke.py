def test_consultant_sees_operation_codes(browser, tenants):
    b = browser("consultant@acme.test")
    response = b.get("/admin/operation-codes/")
    assert response.status_code == 200
