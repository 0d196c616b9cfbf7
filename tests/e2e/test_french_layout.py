"""The layout of ``ui.md`` in chromium (French locale), on the demo dossier: for every
role the navigation bar holds on one line at 1280 and 1366 px; the look-up widget and the
inline rows speak French; an error page keeps the navigation."""
from commands.seed import DEMO_PASSWORD, DEMO_USERS, seed_demo
from core.extensions import db

WIDTHS = (1280, 1366)


def _log_in(page, email: str) -> None:
    page.goto("/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", DEMO_PASSWORD)
    with page.expect_navigation():
        page.click("form button[type=submit]")
    assert "/login" not in page.url, page.inner_text("body")


def _navigation_lines(page) -> int:
    """How many lines the items of the navigation bar take (their distinct tops)."""
    return page.evaluate("""() => {
        const items = [...document.querySelectorAll('nav.navbar .navbar-nav > li, nav.navbar .navbar-brand')]
            .filter(e => e.offsetParent !== null);
        return new Set(items.map(e => Math.round(e.getBoundingClientRect().top / 10))).size;
    }""")


def test_french_layout_for_every_role(app, page, screenshot):
    with app.app_context():
        seed_demo()
        db.session.remove()
    for email, role, _name in DEMO_USERS:
        _log_in(page, email)
        for width in WIDTHS:
            page.set_viewport_size({"width": width, "height": 900})
            page.goto("/admin/")
            if _navigation_lines(page) != 1:
                screenshot(f"navigation-{role}-{width}")
            assert _navigation_lines(page) == 1, (role, width)
            # ... and within the window: nothing of the bar is cut off or scrolled to
            assert page.evaluate("document.documentElement.scrollWidth") <= width, (role, width)
            tenant = page.locator("#current-tenant")
            assert "Bâtiment Démo SARL" in tenant.get_attribute("title"), role
        screenshot(f"home-{role}")
        if role == "backoffice":
            assert "à valider" in page.inner_text("#waiting")
            page.goto("/admin/job-sites/new/")
            page.click("#s2id_client a.select2-choice")
            page.locator("#select2-drop:visible input.select2-input").fill("zzzz")
            page.locator("#select2-drop .select2-no-results", has_text="Aucun résultat").wait_for()
            page.keyboard.press("Escape")
            page.goto("/admin/invoices/new/")
            assert page.locator("#lines-button").inner_text().strip() == "Ajouter une ligne"
            screenshot("invoice-form")
        if role == "viewer":
            response = page.goto("/admin/clients/new/")
            assert response.status == 403
            assert "Accès refusé" in page.inner_text("body") and page.locator("nav.navbar").is_visible()
            screenshot("forbidden")
        page.context.clear_cookies()
