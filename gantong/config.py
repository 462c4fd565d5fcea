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
            return "postgresql+psycopg://" + url[len(plain) :]
    return url


LOCAL_URL = "http://localhost:5000"


def public_url(configured: str, development: bool, deferred: bool = False) -> str:
    """Return PUBLIC_URL without its trailing slash; refuse a missing or malformed one in
    production, where every SMS link would otherwise send residents to the wrong host.

    deferred: a missing one is returned as "" (a command of the flask CLI, such as a migration,
    sends no text message); the first link built without it refuses then (notifications.link).
    """
    url = (configured or "").strip().rstrip("/")
    if not url and development:
        return LOCAL_URL
    if not url and deferred:
        return ""
    scheme, _, rest = url.partition("://")
    if scheme not in ("http", "https") or not rest or rest.startswith("/"):
        raise RuntimeError(
            "Set PUBLIC_URL to the address residents open, e.g. PUBLIC_URL=https://gantong.example.cn"
            f" (the links in text messages start with it); got {configured!r}."
        )
    return url


class Config:
    SECRET_KEY = os.environ.get("SECRET_KEY", "")
    # No ping on every checkout (a round trip a request): connections are replaced after half
    # an hour, and a request that meets a dropped one runs again once (gantong/unit_of_work.py).
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": False, "pool_recycle": 1800}
    # PostgreSQL streaming replicas for the reads that tolerate seconds of lag (comma-separated
    # URLs; unset: everything on the primary). gantong/web/replicas.py; docs/deployment.md.
    DATABASE_REPLICA_URLS = os.environ.get("DATABASE_REPLICA_URLS", "")
    # A replica further behind than this is skipped; one is asked at most this often per process.
    REPLICA_MAX_LAG_SECONDS = float(os.environ.get("REPLICA_MAX_LAG_SECONDS", "5"))
    REPLICA_CHECK_SECONDS = float(os.environ.get("REPLICA_CHECK_SECONDS", "1"))
    TOKEN_TTL = int(os.environ.get("TOKEN_TTL", "120"))
    # Seconds a printed paper code lives (a year): it is reprinted, not refreshed.
    PAPER_TTL = int(os.environ.get("PAPER_TTL", str(365 * 24 * 60 * 60)))
    # Replacements of a lost paper code a person may make in the period (officers at a desk are
    # not limited): each leaves a revoked serial in the bundle every verifier downloads for up to
    # PAPER_TTL, so 3 in 30 days bounds the list at 3 serials (44 bytes each) per person a month.
    PAPER_REPLACEMENTS_PER_PERIOD = int(os.environ.get("PAPER_REPLACEMENTS_PER_PERIOD", "3"))
    PAPER_REPLACEMENT_PERIOD = int(os.environ.get("PAPER_REPLACEMENT_PERIOD", str(30 * 24 * 3600)))
    # A partner's screen code is accepted this long after it was made, whatever TTL it carries.
    PARTNER_MAX_TTL = int(os.environ.get("PARTNER_MAX_TTL", "600"))
    # The verifier bundle: refreshed in the background after this, refused by verifiers after that.
    BUNDLE_REFRESH_SECONDS = int(os.environ.get("BUNDLE_REFRESH_SECONDS", "900"))
    BUNDLE_REFUSE_SECONDS = int(os.environ.get("BUNDLE_REFUSE_SECONDS", str(24 * 3600)))
    # How long the JWKS may be cached; a next key is published at least the longest of these
    # three before it signs, so that no cached verifier meets a key it does not know.
    JWKS_MAX_AGE = 300
    QR_REFRESH_SECONDS = 60
    # The code on the phone (docs/token-format.md, 8): a credential lives this many hours (at
    # most 18), a presentation is refused this many seconds after the phone made it, and an
    # account registers at most this many phones.
    HOLDER_CREDENTIAL_HOURS = float(os.environ.get("HOLDER_CREDENTIAL_HOURS", "12"))
    MAX_PRESENTATION_AGE = int(os.environ.get("MAX_PRESENTATION_AGE", "120"))
    MAX_DEVICES = int(os.environ.get("MAX_DEVICES", "10"))
    BABEL_DEFAULT_LOCALE = "zh"
    BABEL_DEFAULT_TIMEZONE = "Asia/Shanghai"
    LANGUAGES = ("zh", "en")
    # Shared by every worker (gantong/web/rate_limits.py); memory:// counts per process.
    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI", "database://")
    RATELIMIT_HEADERS_ENABLED = True
    # Sliding windows with back-off instead of a fixed hour: a burst waits a minute, a sustained
    # attack 15 minutes, and the count fades as soon as it stops, so the owner gets in soon after.
    # (gantong/web/rate_limits.py: the weighted count rounded up in the check before a request
    # as in the count after it.)
    RATELIMIT_STRATEGY = "sliding-window-counter-rounded-up"
    # Failed logins slow the one who fails, not the owner: one address on one account gets 5
    # tries a minute and 20 per 15 minutes; the owner elsewhere is untouched.
    LOGIN_LIMIT_PER_PAIR = "5 per minute;20 per 15 minutes"
    # The account as a whole only past what five addresses at full pace can send; beyond it its
    # password logins wait, and the owner gets in with the code texted to their phone (a reset
    # logs them in) and is told by SMS.
    LOGIN_LIMIT_PER_ACCOUNT = "100 per 15 minutes"
    # Many people share a carrier address (CGNAT): counted in 15-minute sliding windows too.
    LOGIN_LIMIT_PER_ADDRESS = "100 per 15 minutes"
    # Sign-up (gantong/auth/signup_limits.py). Per number only tries that pass the form's checks
    # count (typos are free): a person signs up once, and 5 tries an hour that reach the accounts
    # is more than anyone honest needs. Per address every post counts: a registration desk of 6
    # clerks, each signing someone up every 2 minutes with a typo each, sends 6 x 7.5 x 2 = 90
    # forms in 15 minutes, and a carrier's NAT or an arrival hall's Wi-Fi puts more people still
    # behind one address; 200 is twice the desk and still stops a machine opening accounts by
    # the thousand (at most 800 an hour).
    SIGNUP_LIMIT_PER_NUMBER = os.environ.get("SIGNUP_LIMIT_PER_NUMBER", "5 per hour")
    SIGNUP_LIMIT_PER_ADDRESS = os.environ.get("SIGNUP_LIMIT_PER_ADDRESS", "200 per 15 minutes")
    # An identity document registered (adding a person, pre-entry, an officer's registration):
    # tries past the form's checks count, as per number; a document is registered once.
    SIGNUP_LIMIT_PER_DOCUMENT = os.environ.get("SIGNUP_LIMIT_PER_DOCUMENT", "5 per hour")
    # A busy station scans a code every few seconds; the no-code lane is for the few without one.
    VERIFY_LIMIT_PER_STAFF = os.environ.get("VERIFY_LIMIT_PER_STAFF", "60 per minute;1500 per hour")
    NO_CODE_LIMIT_PER_STAFF = os.environ.get("NO_CODE_LIMIT_PER_STAFF", "20 per hour")
    # Records stored (the record page's and the scan page's, counted per request: each carries
    # one record). A volunteer checks a person every 2 s at the most: 30 a minute, 1,800 an hour.
    # The minute allows twice that so that a queue kept through a short outage catches up; the
    # hour is the sustained pace. A point with several lanes gets six volunteers' worth. One
    # session stored 293 records a second without a limit (a million an hour).
    RECORD_LIMIT_PER_STAFF = os.environ.get("RECORD_LIMIT_PER_STAFF", "60 per minute;1800 per hour")
    RECORD_LIMIT_PER_POINT = os.environ.get(
        "RECORD_LIMIT_PER_POINT", "360 per minute;10800 per hour"
    )
    # The most records one POST /checkpoint/scan-records takes (the scan page's queue sends what
    # waits in batches of at most this many); a longer batch is answered 413.
    SCAN_RECORD_BATCH_MAX = int(os.environ.get("SCAN_RECORD_BATCH_MAX", "50"))
    COMPRESS_MIMETYPES = [
        "text/html",
        "text/css",
        "text/javascript",
        "application/javascript",
        "application/json",
        "image/svg+xml",
        "text/csv",
    ]
    COMPRESS_ALGORITHM = ["gzip"]
    COMPRESS_LEVEL = 6  # level 9 costs more CPU a page for a few bytes
    COMPRESS_MIN_SIZE = 256
    # A phone photo of a code is a few MB; nothing we accept is larger.
    MAX_CONTENT_LENGTH = 16 * 1024 * 1024
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = os.environ.get("SESSION_COOKIE_SECURE", "") == "1"
    WTF_CSRF_TIME_LIMIT = 8 * 3600
    SMS_BACKEND = os.environ.get("SMS_BACKEND", "log")
    # The address residents open, for the links in text messages: required in production
    # (create_app refuses to start without it); development and tests fall back to LOCAL_URL.
    PUBLIC_URL = os.environ.get("PUBLIC_URL", "")
    # Werkzeug's method for new password hashes; the tests set a cheap one (tests/conftest.py).
    PASSWORD_HASH_METHOD = "scrypt"
    RETENTION_DAYS = int(os.environ.get("RETENTION_DAYS", "28"))
    # Lab results (issue 22): the most results one POST carries (a lab posts thousands a day);
    # how long a result for a person not registered yet waits to be matched; how recent a
    # negative must be to back a transcoding application; and, when set, the negative test a
    # pre-entry quarantine needs within that many hours before its release (0: none needed).
    LAB_POST_LIMIT = os.environ.get("LAB_POST_LIMIT", "60 per minute")
    LAB_BATCH_LIMIT = int(os.environ.get("LAB_BATCH_LIMIT", "5000"))
    LAB_UNMATCHED_DAYS = int(os.environ.get("LAB_UNMATCHED_DAYS", "14"))
    LAB_CITABLE_HOURS = int(os.environ.get("LAB_CITABLE_HOURS", "72"))
    LAB_RELEASE_TEST_HOURS = int(os.environ.get("LAB_RELEASE_TEST_HOURS", "0"))
    # A venue check-in is stored once per this many minutes per person and venue (a reload, a
    # second scan at the door); a visit queued on a phone offline is taken up to this many
    # hours after it happened.
    VENUE_CHECKIN_REPEAT_MINUTES = int(os.environ.get("VENUE_CHECKIN_REPEAT_MINUTES", "30"))
    VENUE_QUEUED_MAX_HOURS = int(os.environ.get("VENUE_QUEUED_MAX_HOURS", "24"))
