"""Labelkeep settings, read from the environment (every variable is listed in deploy/env.example).

With no configuration at all Labelkeep runs *embedded*: SQLite, the cache and the job broker
under ``var/``, a secret key generated once into ``var/``. Setting ``DATABASE_URL`` switches to
*production*, where a strong ``SECRET_KEY`` becomes mandatory and nothing is generated.
"""

import ipaddress
import os
from pathlib import Path
from typing import Any

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from config import secrets as secret_keys
from config.env import env_bool, env_choice, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("LABELKEEP_VAR_DIR", str(BASE_DIR / "var"))).resolve()

DATABASE_URL = env_str("DATABASE_URL")
EMBEDDED = not DATABASE_URL
DEBUG = env_bool("DEBUG", False)
HTTPS = env_bool("LABELKEEP_HTTPS", False)
# var/ holds the embedded database, keys, files and the job broker: this user's eyes only.
VAR_DIR.mkdir(mode=0o700, parents=True, exist_ok=True)

_secret = env_str("SECRET_KEY")
if _secret:
    SECRET_KEY = secret_keys.check_strength(_secret, source="SECRET_KEY")
elif EMBEDDED or DEBUG:
    SECRET_KEY = secret_keys.load_or_create(VAR_DIR / "secret_key")
else:
    raise ImproperlyConfigured(
        "SECRET_KEY (or SECRET_KEY_FILE) is required when DATABASE_URL is set."
    )

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "guardian",
    "core",
    "vault",
    "audit",
    "accounts",
    "projects",
    "labeling",
    "datasets",
]

MIDDLEWARE = [
    "core.middleware.ProxyClientAddressMiddleware",
    "core.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "core.middleware.SecurityHeadersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "audit.middleware.PageDenialMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "core" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

if EMBEDDED:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "labelkeep.sqlite3",
            "OPTIONS": {
                # IMMEDIATE takes the write lock at BEGIN, which serializes the work queue's
                # claims instead of failing them with "database is locked" on upgrade.
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
        }
    }
else:
    _database: dict[str, Any] = dict(
        dj_database_url.parse(DATABASE_URL, conn_max_age=60, conn_health_checks=True)
    )
    if _database["ENGINE"] == "django.db.backends.postgresql":
        # Django's backend with a health check that costs no round trip (core/postgres/).
        _database["ENGINE"] = "core.postgres"
        # Parameters bound by the server, and a statement prepared once it has run 5 times on
        # a connection (psycopg's threshold): the work queue's statements then skip parsing
        # and planning, which was most of PostgreSQL's CPU per request (docs/performance.md).
        # LABELKEEP_DB_PREPARED=false turns both off, for a connection pooler that cannot
        # keep prepared statements (PgBouncer before 1.21 in transaction mode).
        prepared = env_bool("LABELKEEP_DB_PREPARED", True)
        _database["OPTIONS"] = {
            "server_side_binding": prepared,
            "prepare_threshold": 5 if prepared else None,
            **_database.get("OPTIONS", {}),
        }
    DATABASES = {"default": _database}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env_str("REDIS_URL")
CACHES: dict[str, dict[str, Any]]
if REDIS_URL:
    CACHES = {
        # Django's Redis cache, with one client per process and one-trip counters (throttles).
        "default": {"BACKEND": "core.cache.RedisCache", "LOCATION": REDIS_URL}
    }
else:
    CACHES = {
        "default": {
            # Shared by the web processes and the worker, unlike the per-process local memory.
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
            # Django's default of 300 entries would let a flood of addresses cull sign-in
            # throttle counters; culling starts far above any real lab's traffic here.
            "OPTIONS": {"MAX_ENTRIES": 20_000},
        }
    }

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    # Django's ModelBackend with a cheaper per-request user lookup. (Sessions opened under
    # another backend's name are signed out once, when it changes.)
    "accounts.backends.UserBackend",
    "guardian.backends.ObjectPermissionBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": env_int("PASSWORD_MIN_LENGTH", 12, minimum=8)},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "projects:list"
LOGOUT_REDIRECT_URL = "accounts:login"
PASSWORD_RESET_TIMEOUT = env_int("PASSWORD_RESET_TIMEOUT", 3600, minimum=300)
GUARDIAN_ANONYMOUS_USER_NAME = None
ANONYMOUS_USER_NAME = None

LABELKEEP_INVITATION_DAYS = env_int("LABELKEEP_INVITATION_DAYS", 7, minimum=1)
LABELKEEP_LOGIN_MAX_FAILURES = env_int("LABELKEEP_LOGIN_MAX_FAILURES", 5, minimum=1)
LABELKEEP_LOGIN_IP_MAX_FAILURES = env_int("LABELKEEP_LOGIN_IP_MAX_FAILURES", 30, minimum=1)
LABELKEEP_LOGIN_LOCKOUT_SECONDS = env_int("LABELKEEP_LOGIN_LOCKOUT_SECONDS", 900, minimum=1)

# Audit log (docs/audit.md): hash chains, signed checkpoints, shipping to a SIEM.
AUDIT_CHAINS = env_int("LABELKEEP_AUDIT_CHAINS", 16, minimum=1)
AUDIT_CHECKPOINT_EVERY_EVENTS = env_int("LABELKEEP_AUDIT_CHECKPOINT_EVERY_EVENTS", 1000, minimum=1)
AUDIT_CHECKPOINT_EVERY_MINUTES = env_int("LABELKEEP_AUDIT_CHECKPOINT_EVERY_MINUTES", 5, minimum=1)
# A path to an Ed25519 PEM key; empty: generated into VAR_DIR on first use.
AUDIT_SIGNING_KEY_FILE = env_str("LABELKEEP_AUDIT_SIGNING_KEY_FILE")
AUDIT_TRUSTED_PUBLIC_KEYS = env_list("LABELKEEP_AUDIT_TRUSTED_PUBLIC_KEYS", [])
AUDIT_SHIP_TO = env_list("LABELKEEP_AUDIT_SHIP_TO", [])
AUDIT_SHIP_HTTP_TOKEN = env_str("LABELKEEP_AUDIT_SHIP_HTTP_TOKEN")
AUDIT_SHIP_CA_FILE = env_str("LABELKEEP_AUDIT_SHIP_CA_FILE")
AUDIT_SHIP_BATCH = env_int("LABELKEEP_AUDIT_SHIP_BATCH", 500, minimum=1)
AUDIT_SHIP_TIMEOUT_SECONDS = env_int("LABELKEEP_AUDIT_SHIP_TIMEOUT_SECONDS", 10, minimum=1)
AUDIT_SHIP_EVERY_SECONDS = env_int("LABELKEEP_AUDIT_SHIP_EVERY_SECONDS", 30, minimum=1)
# Archive and prune events older than this many days (0: keep every event in the database).
AUDIT_RETENTION_DAYS = env_int("LABELKEEP_AUDIT_RETENTION_DAYS", 0, minimum=0)

# Imports (docs/imports.md): what one upload may hold. Sizes in bytes.
IMPORT_MAX_UPLOAD_BYTES = env_int("LABELKEEP_IMPORT_MAX_UPLOAD_BYTES", 4 * 1024**3, minimum=1024)
IMPORT_MAX_ROWS = env_int("LABELKEEP_IMPORT_MAX_ROWS", 2_000_000, minimum=1)
# One task's fields, as JSON: text fields, and separately metadata, prediction and gold each.
IMPORT_MAX_TASK_BYTES = env_int("LABELKEEP_IMPORT_MAX_TASK_BYTES", 256 * 1024, minimum=1024)
IMPORT_MAX_FIELD_BYTES = env_int("LABELKEEP_IMPORT_MAX_FIELD_BYTES", 64 * 1024, minimum=256)
# Decompressed size of a gzip file or a zip archive, and the largest ratio any entry may reach.
IMPORT_MAX_UNCOMPRESSED_BYTES = env_int(
    "LABELKEEP_IMPORT_MAX_UNCOMPRESSED_BYTES", 16 * 1024**3, minimum=1024
)
IMPORT_MAX_COMPRESSION_RATIO = env_int("LABELKEEP_IMPORT_MAX_COMPRESSION_RATIO", 200, minimum=2)
IMPORT_MAX_ZIP_ENTRIES = env_int("LABELKEEP_IMPORT_MAX_ZIP_ENTRIES", 100_000, minimum=1)
IMPORT_MAX_IMAGE_BYTES = env_int("LABELKEEP_IMPORT_MAX_IMAGE_BYTES", 64 * 1024**2, minimum=1024)
IMPORT_MAX_IMAGE_PIXELS = env_int("LABELKEEP_IMPORT_MAX_IMAGE_PIXELS", 100_000_000, minimum=1)
# A running import whose worker has not reported for this long is taken over (resumed).
JOB_STALE_SECONDS = env_int("LABELKEEP_JOB_STALE_SECONDS", 120, minimum=1)
# Helper processes a dataset version's JSON Lines build forks on PostgreSQL (docs/exports.md,
# datasets/exports/parallel.py); 1: none, the job builds alone. Default: the cores, up to 4.
EXPORT_PROCESSES = env_int("LABELKEEP_EXPORT_PROCESSES", min(4, os.cpu_count() or 1), minimum=1)

# Webhooks (docs/webhooks.md): the only server-side requests, all through core/outbound.py.
# Hosts a webhook may name: exact names and *.suffix wildcards; empty: no webhook at all.
WEBHOOK_ALLOWED_HOSTS = env_list("LABELKEEP_WEBHOOK_ALLOWED_HOSTS", [])
# Private networks (CIDRs) opened for on-premises receivers; every other one stays refused.
WEBHOOK_PRIVATE_NETWORKS = env_list("LABELKEEP_WEBHOOK_PRIVATE_NETWORKS", [])
for _network in WEBHOOK_PRIVATE_NETWORKS:
    try:
        ipaddress.ip_network(_network, strict=False)
    except ValueError:
        raise ImproperlyConfigured(
            f"LABELKEEP_WEBHOOK_PRIVATE_NETWORKS: {_network!r} is not a network (10.0.0.0/8)."
        ) from None
# A CA bundle (PEM) trusted besides the system's, for receivers with the lab's own CA.
WEBHOOK_CA_FILE = env_str("LABELKEEP_WEBHOOK_CA_FILE")

SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 12 * 3600, minimum=300)
# With Redis, sessions are read from the cache (written through to the database): one database
# query fewer on every request. Embedded mode keeps them in SQLite only.
SESSION_ENGINE = (
    "django.contrib.sessions.backends.cached_db"
    if REDIS_URL
    else "django.contrib.sessions.backends.db"
)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_SSL_REDIRECT = HTTPS and env_bool("SECURE_SSL_REDIRECT", True)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31_536_000, minimum=0) if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS and env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = HTTPS and env_bool("SECURE_HSTS_PRELOAD", True)
LABELKEEP_BEHIND_PROXY = env_bool("LABELKEEP_BEHIND_PROXY", False)
if LABELKEEP_BEHIND_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
# The built workspace and page scripts (`make frontend`); absent before the first build.
STATICFILES_DIRS = [p for p in [BASE_DIR / "frontend" / "dist"] if p.is_dir()]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DATA_UPLOAD_MAX_MEMORY_SIZE", 2_621_440, minimum=1024)

# Vault (docs/encryption.md): master key provider, key store, blob store.
LABELKEEP_KEY_PROVIDER = env_choice("LABELKEEP_KEY_PROVIDER", "local", {"local", "aws-kms"})
_master_key_file = env_str("LABELKEEP_MASTER_KEY_FILE")
# The default keyring under var/ is generated on first use; a named one must already exist.
LABELKEEP_MASTER_KEY_FILE = Path(_master_key_file or VAR_DIR / "master_keyring")
LABELKEEP_MASTER_KEY_GENERATE = not _master_key_file
LABELKEEP_KMS_KEY_ID = env_str("LABELKEEP_KMS_KEY_ID")
if LABELKEEP_KEY_PROVIDER == "aws-kms" and not LABELKEEP_KMS_KEY_ID:
    raise ImproperlyConfigured("LABELKEEP_KMS_KEY_ID is required with the aws-kms provider.")
LABELKEEP_KMS_ENDPOINT_URL = env_str("LABELKEEP_KMS_ENDPOINT_URL")
LABELKEEP_KMS_REGION = env_str("LABELKEEP_KMS_REGION", "us-east-1")
LABELKEEP_KEYSTORE_URL = env_str("LABELKEEP_KEYSTORE_URL", (VAR_DIR / "keystore").as_uri())
LABELKEEP_KEY_CACHE_SECONDS = env_int("LABELKEEP_KEY_CACHE_SECONDS", 60, minimum=0)
S3_ENDPOINT_URL = env_str("S3_ENDPOINT_URL")
S3_BUCKET = env_str("S3_BUCKET")
S3_REGION = env_str("S3_REGION", "us-east-1")
S3_ACCESS_KEY_ID = env_str("S3_ACCESS_KEY_ID")
S3_SECRET_ACCESS_KEY = env_str("S3_SECRET_ACCESS_KEY")
S3_ADDRESSING_STYLE = env_choice("S3_ADDRESSING_STYLE", "auto", {"auto", "path", "virtual"})
LABELKEEP_BLOB_STORE = env_choice(
    "LABELKEEP_BLOB_STORE", "s3" if S3_BUCKET else "filesystem", {"filesystem", "s3"}
)
LABELKEEP_BLOB_DIR = Path(env_str("LABELKEEP_BLOB_DIR", str(VAR_DIR / "blobs")))

if env_str("EMAIL_HOST"):
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_HOST = env_str("EMAIL_HOST")
    EMAIL_PORT = env_int("EMAIL_PORT", 587, minimum=1)
    EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
    EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
    EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
else:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "labelkeep@localhost")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    # Deny by default: a view that forgets to name its permission serves nobody.
    "DEFAULT_PERMISSION_CLASSES": ["core.api.DenyAll"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_PAGINATION_CLASS": "core.api.CursorPagination",
    "PAGE_SIZE": 50,
    # Records denied requests in the audit log, then answers as core.api.exception_handler.
    "EXCEPTION_HANDLER": "audit.api.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_THROTTLE_CLASSES": [
        "core.throttles.AnonThrottle",
        "core.throttles.UserThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env_str("THROTTLE_ANON", "60/min"),
        "user": env_str("THROTTLE_USER", "3000/min"),
    },
    "DATETIME_FORMAT": "%Y-%m-%dT%H:%M:%S.%fZ",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Labelkeep API",
    "DESCRIPTION": "Projects, members, tokens, labelling and dataset versions.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    # Token and job states are both fields named "state": give each enum its own name.
    "ENUM_NAME_OVERRIDES": {
        "JobStateEnum": "projects.jobs.JOB_STATES",
        "TokenStateEnum": "accounts.models.TokenState",
        "TaskStateEnum": "datasets.browser.LISTED_STATES",
        "AnnotationStatusEnum": "labeling.models.AnnotationStatus",
        "ReviewStateEnum": "labeling.models.ReviewState",
        "DecisionEnum": "labeling.models.Decision",
        "SkipReasonEnum": "labeling.models.SkipReason",
        "InvitationStatusEnum": "projects.selectors.INVITATION_STATUSES",
    },
}

CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", REDIS_URL or "filesystem://")
if CELERY_BROKER_URL == "filesystem://":
    _broker_dir = VAR_DIR / "broker"
    for _sub in ("queue", "processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        # Broadcast messages (worker control); kombu's default is ./control in the cwd.
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
        # How often an idle worker looks for new jobs (a directory listing; kombu's default
        # of 1 s would make every import wait that long before it starts).
        "polling_interval": 0.2,
    }
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = False
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Run by `celery beat` (or a worker started with --beat).
CELERY_BEAT_SCHEDULE = {
    "audit-checkpoint": {
        "task": "audit.tasks.audit_checkpoint",
        "schedule": 60.0,
    },
    "audit-ship": {
        "task": "audit.tasks.audit_ship",
        "schedule": float(AUDIT_SHIP_EVERY_SECONDS),
    },
    # Hourly: a run finds nothing to do until a whole checkpoint has passed the period.
    "audit-archive": {"task": "audit.tasks.audit_archive", "schedule": 3600.0},
    # Imports whose worker died (or whose message was lost) are taken over.
    "imports-resume": {"task": "datasets.tasks.imports_resume", "schedule": 60.0},
    # Dataset versions likewise.
    "versions-resume": {"task": "datasets.tasks.versions_resume", "schedule": 60.0},
    # Webhook notices whose next attempt is due, and those whose worker died mid-delivery.
    "webhooks-due": {"task": "datasets.webhook_tasks.webhooks_due", "schedule": 60.0},
    # Leases that ran out in projects where no one asks for work (claims expire their own).
    "leases-expire": {"task": "labeling.tasks.leases_expire_all", "schedule": 60.0},
    # Quality reports for projects with new submissions (at most hourly per project), and
    # reports whose job was lost.
    "quality-schedule": {"task": "labeling.tasks.quality_schedule", "schedule": 300.0},
}

LOG_LEVEL = env_choice("LOG_LEVEL", "INFO", {"DEBUG", "INFO", "WARNING", "ERROR"})
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
