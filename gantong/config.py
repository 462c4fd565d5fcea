"""Settings from the environment; SQLite under instance/ unless DATABASE_URL says otherwise."""
import os


def database_url(instance_path: str) -> str:
    """Return the SQLAlchemy URL: DATABASE_URL if set, else SQLite in the instance folder."""
    url = os.environ.get("DATABASE_URL")
    if not url:
        return "sqlite:///" + os.path.join(instance_path, "gantong.sqlite")
    # A plain postgresql:// URL makes SQLAlchemy look for psycopg2; we ship psycopg 3.
    for plain in ("postgresql://", "postgres://"):
        if url.startswith(plain):
            return "postgresql+psycopg://" + url[len(plain):]
    return url


class Config:
    SECRET_KEY = os.environ.get("SECRET_KEY", "")
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    TOKEN_TTL = int(os.environ.get("TOKEN_TTL", "120"))
    # Seconds a printed paper code lives (a year): it is reprinted, not refreshed.
    PAPER_TTL = int(os.environ.get("PAPER_TTL", str(365 * 24 * 60 * 60)))
    QR_REFRESH_SECONDS = 60
    BABEL_DEFAULT_LOCALE = "zh"
    BABEL_DEFAULT_TIMEZONE = "Asia/Shanghai"
    LANGUAGES = ("zh", "en")
    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI", "memory://")
    RATELIMIT_HEADERS_ENABLED = True
    LOGIN_LIMIT_PER_ACCOUNT = "10 per minute;100 per hour"
    LOGIN_LIMIT_PER_ADDRESS = "300 per hour"
    # A busy station scans a code every few seconds; the no-code lane is for the few without one.
    VERIFY_LIMIT_PER_STAFF = os.environ.get("VERIFY_LIMIT_PER_STAFF", "60 per minute;1500 per hour")
    NO_CODE_LIMIT_PER_STAFF = os.environ.get("NO_CODE_LIMIT_PER_STAFF", "20 per hour")
    COMPRESS_MIMETYPES = [
        "text/html", "text/css", "text/javascript", "application/javascript",
        "application/json", "image/svg+xml", "text/csv",
    ]
    COMPRESS_ALGORITHM = ["gzip"]
    COMPRESS_LEVEL = 9
    COMPRESS_MIN_SIZE = 256
    # A phone photo of a code is a few MB; nothing we accept is larger.
    MAX_CONTENT_LENGTH = 16 * 1024 * 1024
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = os.environ.get("SESSION_COOKIE_SECURE", "") == "1"
    WTF_CSRF_TIME_LIMIT = 8 * 3600
    SMS_BACKEND = os.environ.get("SMS_BACKEND", "log")
    # The address residents open, for the links in text messages (no trailing slash).
    PUBLIC_URL = os.environ.get("PUBLIC_URL", "http://localhost:5000").rstrip("/")
    RETENTION_DAYS = int(os.environ.get("RETENTION_DAYS", "28"))
