"""Shared set-up of the hostile-input tests: data created once per module (not per test)
and one logged-in client per user, so that hundreds of requests stay fast."""
from sqlalchemy import text

from core.extensions import db, limiter
from tests.conftest import PASSWORD, Browser


def empty_database(app) -> None:
    """What the root ``clean_database`` does after each test, for module-scoped data."""
    with app.app_context():
        db.session.remove()
        tables = [t.name for t in reversed(db.metadata.sorted_tables)]
        with db.engine.begin() as connection:
            if db.engine.dialect.name == "postgresql":
                connection.execute(text("TRUNCATE " + ", ".join(tables) + " RESTART IDENTITY CASCADE"))
            else:
                for name in tables:
                    connection.execute(text(f"DELETE FROM {name}"))
        limiter.reset()


class Clients:
    """Logged-in test clients, one per e-mail, made on first use."""

    def __init__(self, app, password: str = PASSWORD):
        self.app, self.password, self._clients = app, password, {}

    def again(self, email: str) -> Browser:
        """A newly logged-in client for ``email`` (after its session ended)."""
        self._clients.pop(email, None)
        return self(email)

    def __call__(self, email: str | None) -> Browser:
        if email is None:
            return Browser(self.app.test_client())
        if email not in self._clients:
            client = Browser(self.app.test_client())
            response = client.login(email, self.password)
            assert response.status_code == 302, response.get_data(as_text=True)[:500]
            self._clients[email] = client
        return self._clients[email]
