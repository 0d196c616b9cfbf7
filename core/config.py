"""Configuration from environment variables, with defaults rooted in the repository."""
import os
import secrets
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
INSTANCE_DIR = REPO_ROOT / "instance"


def _secret_key() -> str:
    """Return ``SECRET_KEY`` or a key generated once into ``instance/secret_key``."""
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    key_file = INSTANCE_DIR / "secret_key"
    if not key_file.exists():
        INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
        key_file.write_text(secrets.token_urlsafe(48))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


def _proxy_count(value: str | None) -> int:
    """``PROXY_FIX_X_FOR``: how many proxies in front of the app append to
    ``X-Forwarded-For`` (0, the default: the header is ignored)."""
    if not value or not value.strip():
        return 0
    count = int(value)
    if count < 0:
        raise ValueError("PROXY_FIX_X_FOR must be a number of proxies (0 or more).")
    return count


def build_config() -> dict:
    database_url = os.environ.get(
        "DATABASE_URL", f"sqlite:///{INSTANCE_DIR / 'passerelle.db'}"
    )
    production = os.environ.get("PASSERELLE_ENV", "development") == "production"
    return {
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SECRET_KEY": _secret_key(),
        "EXCHANGE_ROOT": os.environ.get("EXCHANGE_ROOT", str(INSTANCE_DIR / "exchange")),
        "PASSERELLE_ENCRYPTION_KEY": os.environ.get("PASSERELLE_ENCRYPTION_KEY"),
        "RATELIMIT_STORAGE_URI": os.environ.get("RATELIMIT_STORAGE_URI", "memory://"),
        "RATELIMIT_STRATEGY": "moving-window",
        "RATELIMIT_HEADERS_ENABLED": False,
        "LOGIN_FAILURE_LIMIT": "10 per 15 minutes",
        "LOGIN_ADDRESS_FAILURE_LIMIT": "100 per 15 minutes",
        "PROXY_FIX_X_FOR": _proxy_count(os.environ.get("PROXY_FIX_X_FOR")),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": production,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SECURE": production,
        "WTF_CSRF_TIME_LIMIT": None,
        "BABEL_DEFAULT_LOCALE": "fr",
        "BABEL_TRANSLATION_DIRECTORIES": str(REPO_ROOT / "translations"),
        "LANGUAGES": {"fr": "Français", "en": "English"},
        "FLASK_ADMIN_SWATCH": "default",
        "LIST_EXACT_COUNT_LIMIT": 10000,
        "MAX_CONTENT_LENGTH": 51 * 1024 * 1024,
        "EXPORT_BATCH_SIZE": 2000,
        "IMPORT_MAX_UNCOMPRESSED_BYTES": 200 * 1024 * 1024,  # a workbook inflating to more is refused
        "IMPORT_MAX_COMPRESSION_RATIO": 100,  # and one compressed more than 100:1 (a zip bomb)
        "IMPORT_MAX_SHOWN_ROWS": 200,  # rows of an import preview shown in a page (errors first)
        "PAYMENTS_MAX_SHOWN_ROWS": 20000,  # rows of the payments control screen (alerts first)
        # Exchanges: every interval is a setting, so that tests run them at about a second.
        "EXCHANGE_LEASE_SECONDS": float(os.environ.get("EXCHANGE_LEASE_SECONDS", 60)),
        "EXCHANGE_HEARTBEAT_SECONDS": float(os.environ.get("EXCHANGE_HEARTBEAT_SECONDS", 10)),
        "EXCHANGE_POLL_MS": int(os.environ.get("EXCHANGE_POLL_MS", 1000)),
        "EXCHANGE_HTTP_TIMEOUT_SECONDS": float(os.environ.get("EXCHANGE_HTTP_TIMEOUT_SECONDS", 30)),
        "EXCHANGE_RETRY_AFTER_MAX_WAITS": int(os.environ.get("EXCHANGE_RETRY_AFTER_MAX_WAITS", 3)),
        "EXCHANGE_RETRY_AFTER_CAP_SECONDS": float(os.environ.get("EXCHANGE_RETRY_AFTER_CAP_SECONDS", 60)),
        # The scheduler process (flask --app app scheduler): leader lease, heartbeat, standby
        # take-over, reconcile period, APScheduler's misfire grace time; all in seconds.
        "SCHEDULER_LEASE_SECONDS": float(os.environ.get("SCHEDULER_LEASE_SECONDS", 30)),
        "SCHEDULER_HEARTBEAT_SECONDS": float(os.environ.get("SCHEDULER_HEARTBEAT_SECONDS", 10)),
        "SCHEDULER_STANDBY_POLL_SECONDS": float(os.environ.get("SCHEDULER_STANDBY_POLL_SECONDS", 10)),
        "SCHEDULER_RECONCILE_SECONDS": float(os.environ.get("SCHEDULER_RECONCILE_SECONDS", 60)),
        "SCHEDULER_MISFIRE_GRACE_SECONDS": int(os.environ.get("SCHEDULER_MISFIRE_GRACE_SECONDS", 300)),
        "SCHEDULER_THREADS": int(os.environ.get("SCHEDULER_THREADS", 4)),
        # The unit of `every:<n>` schedules: a minute, except in tests (a second).
        "SCHEDULER_INTERVAL_UNIT_SECONDS": float(os.environ.get("SCHEDULER_INTERVAL_UNIT_SECONDS", 60)),
        # field_service: the next receive asks from the last validatedSince minus this overlap
        "FIELD_SERVICE_OVERLAP_SECONDS": float(os.environ.get("FIELD_SERVICE_OVERLAP_SECONDS", 3600)),
        # SQLite has one writer at a time: a writer waits up to this long for the lock (webhook
        # deliveries, runs and screens write at once) instead of failing after pysqlite's 5 s.
        "SQLITE_BUSY_TIMEOUT_SECONDS": float(os.environ.get("SQLITE_BUSY_TIMEOUT_SECONDS", 30)),
        # The work-order webhook: largest body accepted, oldest signature accepted.
        "WORK_ORDER_MAX_BYTES": int(os.environ.get("WORK_ORDER_MAX_BYTES", 25 * 1024 * 1024)),
        "WORK_ORDER_SIGNATURE_MAX_AGE_SECONDS": float(os.environ.get("WORK_ORDER_SIGNATURE_MAX_AGE_SECONDS", 300)),
        # CSV exchange: a partner file above this size is rejected unread; documents integrated per
        # batch, one transaction each (their lines stay in the database: a batch holds in memory a
        # few fields per document; SQLite's write lock is held for about 0.3 s per batch)
        "CSV_EXCHANGE_MAX_BYTES": int(os.environ.get("CSV_EXCHANGE_MAX_BYTES", 100 * 1024 * 1024)),
        "CSV_EXCHANGE_BATCH_SIZE": int(os.environ.get("CSV_EXCHANGE_BATCH_SIZE", 5000)),
        "EXCHANGE_TEST_KIND": os.environ.get("PASSERELLE_TEST_KIND") == "1",
        "PASSERELLE_PRODUCTION": production,
    }
