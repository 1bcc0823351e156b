"""Settings for dify-hub, read from the environment (see docs/configuration.md).

Variables set in the process environment win over `.env` (the operator's file) and
`var/local.env` (the secrets `make run` generates on first start).
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from kombu import Queue

from hub.env import (
    env_bool,
    env_choice,
    env_fernet_keys,
    env_int,
    env_language,
    env_list,
    env_str,
    env_timezone,
    load_env_files,
)

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"
load_env_files(BASE_DIR / ".env", VAR_DIR / "local.env")

SECRET_KEY = env_str("SECRET_KEY")
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
TIME_ZONE = env_timezone("TIME_ZONE", "UTC")
USE_TZ = True
# One way to write a time on every page, with seconds and the zone (hub/formats/).
FORMAT_MODULE_PATH = ["hub.formats"]
# The admin in English, 简体中文 or 日本語: the browser's language (Accept-Language) unless
# the person chose one under Preferences (integrations/viewer_language.py). The API, webhooks,
# logs and stored error messages stay English. One catalog for the project's strings (hub/
# and integrations/), kept in the one app (`make messages`, `make compilemessages`).
USE_I18N = True
LANGUAGE_CODE = "en-us"
LANGUAGES = [("en", "English"), ("zh-hans", "简体中文"), ("ja", "日本語")]
LOCALE_PATHS = [BASE_DIR / "integrations" / "locale"]
# What the hub itself writes to people outside the admin (alerts, the recipients' test message,
# the email cut note) is in this one language; integrations/hub_language.py.
HUB_LANGUAGE = env_language("HUB_LANGUAGE", "en", [code for code, _ in LANGUAGES])

HUB_ENCRYPTION_KEYS = env_fernet_keys("HUB_ENCRYPTION_KEYS")
LOG_LEVEL = env_choice("LOG_LEVEL", "INFO", {"DEBUG", "INFO", "WARNING", "ERROR"})

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_celery_beat",
    "rest_framework",
    "drf_spectacular",
    "django_object_actions",
    "integrations.lockout.apps.LoginProtectionConfig",  # django-axes ("Login protection")
    "integrations",
]
# Admin buttons (Stop, Retry, Check connection…) change things: POST forms, never links.
DJANGO_OBJECT_ACTIONS_DEFAULT_HTTP_METHOD = "POST"

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",  # Content-Security-Policy (the HTTPS block below)
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # After the session (a person's chosen language is kept there), before CommonMiddleware.
    "django.middleware.locale.LocaleMiddleware",
    "integrations.viewer_language.ViewerLanguage",  # the chosen language; API stays English
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "integrations.middleware.DatabaseUnavailable",
    "integrations.viewer_zone.ViewerTimeZone",  # times in the viewer's zone
    # Last, as axes asks: turns a refused (locked-out) login into its page. It reads a flag
    # on the request and nothing else, so every other request costs no query.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "hub.urls"
WSGI_APPLICATION = "hub.wsgi.application"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
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

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# --- Database --------------------------------------------------------------------------------
_SQLITE_DEFAULT = f"sqlite:///{VAR_DIR / 'hub.sqlite3'}"
try:
    _db = dj_database_url.parse(env_str("DATABASE_URL", _SQLITE_DEFAULT))
except ValueError as exc:  # unknown scheme, unparsable URL
    raise ImproperlyConfigured(f"DATABASE_URL is not a valid database URL: {exc}") from None

# A Celery worker's PostgreSQL connections come from one small pool per process (psycopg_pool,
# through Django's OPTIONS["pool"]): a task takes a connection when it first queries and gives
# it back when Django closes it, at the end of the task and before every long Dify or chat
# call (runs/connections.py). So a worker's hundred threads share a few connections, and none
# pays a reconnect per task. A gunicorn sync worker serves one request at a time, so it keeps
# one persistent connection instead (measured: a pool there costs 2 ms of CPU per webhook,
# docs/benchmarks.md). docs/operations.md has the formula for max_connections.
# Two per worker process, measured (docs/benchmarks.md, "A small pool"): against 10, a
# 500-review fan-out ends as soon and the webhooks meanwhile answer twice as fast (p99 1.2
# against 2.4 s), and a 200-recipient digest ends in 1.1 s against 2.4-9.5 s: fewer backends
# working at once leave PostgreSQL's CPU to the web, and queue less on one run's row.
HUB_PROCESS = os.environ.get("HUB_PROCESS", "")
HUB_WORKER_DB_POOL_DEFAULT = 2
_POOL_DEFAULT = HUB_WORKER_DB_POOL_DEFAULT if HUB_PROCESS.startswith("worker") else 0
HUB_DB_POOL_SIZE = env_int("HUB_DB_POOL_SIZE", _POOL_DEFAULT, minimum=0)
# How long a thread waits for a free pooled connection before the database counts as down.
HUB_DB_POOL_TIMEOUT = env_int("HUB_DB_POOL_TIMEOUT", 30, minimum=1)

if _db["ENGINE"] == "django.db.backends.sqlite3":
    # Web, worker and beat write to one file at once: WAL lets readers run beside a writer,
    # the busy timeout waits for a lock instead of failing, and IMMEDIATE transactions take
    # the write lock up front so two writers never deadlock on a lock upgrade.
    _db["CONN_MAX_AGE"] = 0
    _db["OPTIONS"] = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # A file, not :memory:, so Celery processes started by the end-to-end tests see it; one
    # per test process, so two test runs in one checkout never share (and corrupt) it.
    _db["TEST"] = {"NAME": str(VAR_DIR / f"test-hub-{os.getpid()}.sqlite3")}
    Path(_db["NAME"]).parent.mkdir(parents=True, exist_ok=True)
elif _db["ENGINE"] == "django.db.backends.postgresql" and HUB_DB_POOL_SIZE:
    _db["CONN_MAX_AGE"] = 0  # Django's rule with a pool: "closing" returns it to the pool
    # Django hands this to the pool as its `check`: a connection is tested as it leaves the
    # pool, so after a PostgreSQL restart no request or task gets a dead one.
    _db["CONN_HEALTH_CHECKS"] = True
    _db["OPTIONS"] = {
        **_db.get("OPTIONS", {}),
        "pool": {
            "min_size": 1,
            "max_size": HUB_DB_POOL_SIZE,
            "timeout": HUB_DB_POOL_TIMEOUT,
            # Closed after five idle minutes, so a quiet hub holds one connection per process.
            "max_idle": 300,
        },
    }
else:
    # Without a pool (web and beat; HUB_DB_POOL_SIZE=0 anywhere, say behind PgBouncer) a
    # process keeps its connection between requests this long, checked before reuse.
    _db["CONN_MAX_AGE"] = env_int("HUB_DB_CONN_MAX_AGE", 60, minimum=0)
    _db["CONN_HEALTH_CHECKS"] = True
if _db["ENGINE"] == "django.db.backends.postgresql":
    # Django's backend with a health check that skips its `SELECT 1` when the socket shows
    # the connection is still open and quiet (hub/postgresql/base.py).
    _db["ENGINE"] = "hub.postgresql"
DATABASES = {"default": _db}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

# Axes' backend first: it refuses a locked-out login before any other backend is asked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

# --- Celery ----------------------------------------------------------------------------------
REDIS_URL = env_str("REDIS_URL", "")
if REDIS_URL:
    if not REDIS_URL.startswith(("redis://", "rediss://", "unix://")):
        raise ImproperlyConfigured(
            "REDIS_URL must start with redis://, rediss:// or unix:// (got a different scheme)."
        )
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        # Longer than the longest run (run_timeout is at most 2 h) plus a countdown, so Redis
        # does not hand an unacknowledged message to a second worker while one holds it.
        "visibility_timeout": 3 * 3600,
        # Notice a dead connection (a Redis restart, a NAT timeout) within seconds, not at
        # the next command, and reconnect instead of hanging.
        "health_check_interval": 10,
        "socket_keepalive": True,
        "socket_connect_timeout": 5,
        "retry_on_timeout": True,
    }
else:
    # Embedded default: kombu's filesystem transport needs no server; every process on this
    # machine shares the folder.
    _broker_dir = VAR_DIR / "broker"
    for _sub in ("queue", "processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = "filesystem://localhost//"
    # kombu's filesystem transport, re-creating its folders instead of crashing without them.
    CELERY_BROKER_TRANSPORT = "integrations.broker:Transport"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        # Exchange bindings; kombu's default is ./control in whatever folder a process started.
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }

CELERY_TIMEZONE = TIME_ZONE
CELERY_ENABLE_UTC = True
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# A broker blip must not stop the work in flight: a run's state lives in the database, and a
# message redelivered later finds its run claimed and does nothing.
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = False
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A worker that lost the broker reconnects for as long as it takes (supervision restarts it
# where kombu still crashes on the way).
CELERY_BROKER_CONNECTION_RETRY = True
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
# A webhook request publishes its task before answering GitLab, which gives up after 10 s.
# With the broker down, publishing must fail within a few seconds (the event is already
# stored, and the sweep sends it later) rather than retry for longer than GitLab waits.
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.5,
}
# Long Dify calls and quick chat posts get queues of their own, so a worker pool can be
# sized for each (`celery worker -Q hub.deliveries` on another machine, say).
HUB_QUEUES = {"default": "hub", "runs": "hub.runs", "deliveries": "hub.deliveries"}


def celery_queues(queues: dict[str, str]) -> tuple[str, list[Queue], dict[str, dict]]:
    """The default queue, every queue (a worker started without -Q consumes them all) and
    the routes, for these names (the test settings use names of their own)."""
    routes = {
        "integrations.tasks.execute_run": queues["runs"],
        "integrations.tasks.reconcile_run": queues["runs"],
        "integrations.tasks.deliver": queues["deliveries"],
        "integrations.tasks.stop_dify_run": queues["deliveries"],
    }
    return (
        queues["default"],
        [Queue(name) for name in queues.values()],
        {task: {"queue": queue} for task, queue in routes.items()},
    )


CELERY_TASK_DEFAULT_QUEUE, CELERY_TASK_QUEUES, CELERY_TASK_ROUTES = celery_queues(HUB_QUEUES)
# A thread pool sized for I/O: a worker thread spends its time waiting for Dify or a chat
# service, and releases its database connection while it waits (runs/connections.py).
CELERY_WORKER_POOL = "threads"
CELERY_WORKER_CONCURRENCY = env_int("HUB_WORKER_CONCURRENCY", 100, minimum=1)
CELERY_BEAT_SCHEDULER = "integrations.digests.beat_scheduler:HubScheduler"
# Celery's own catch-up of a crontab missed during downtime is switched off: the hub decides
# about missed digest slots itself (run within the grace, else record them as skipped).
CELERY_BEAT_CRON_STARTING_DEADLINE = 60
# Beat writes each task's last_run_at after every fire instead of every 3 minutes, so /healthz
# can tell how long ago beat last ticked (one row update a minute).
CELERY_BEAT_SYNC_EVERY = 1
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
DJANGO_CELERY_BEAT_TZ_AWARE = True

# --- Email (integrations/email, docs/recipients/email.md) ------------------------------------
# EMAIL_URL (smtp://user:pass@host:587/?tls=true, smtps://user:pass@host:465) and EMAIL_FROM
# ("dify-hub <hub@example.com>") become Django's EMAIL_* settings and DEFAULT_FROM_EMAIL.
# Without EMAIL_URL, Django's defaults stay and email recipients report it as missing.
# (Imported here, not at the top, so this block stays in one piece.)
from integrations.email.settings import email_settings  # noqa: E402

globals().update(email_settings(env_str("EMAIL_URL", ""), env_str("EMAIL_FROM", "")))
# --- end of email ----------------------------------------------------------------------------

# --- Hub behaviour ---------------------------------------------------------------------------
HUB_DIGEST_CATCHUP_GRACE = env_int("HUB_DIGEST_CATCHUP_GRACE", 3600, minimum=0)
HUB_RUN_MAX_ATTEMPTS = env_int("HUB_RUN_MAX_ATTEMPTS", 5, minimum=1)
HUB_DELIVERY_MAX_ATTEMPTS = env_int("HUB_DELIVERY_MAX_ATTEMPTS", 6, minimum=1)
# Retry backoff: base * 2**(attempt-1), capped, with equal jitter (runs/backoff.py). Tests
# shorten these.
HUB_RETRY_BASE_SECONDS = env_int("HUB_RETRY_BASE_SECONDS", 10, minimum=0)
HUB_RETRY_MAX_SECONDS = env_int("HUB_RETRY_MAX_SECONDS", 600, minimum=0)
# Recipient health: after this many failed deliveries in a row a recipient is turned off
# (a recipient's own "turn off after" wins; 0: never), as GitLab does with failing webhooks.
HUB_RECIPIENT_DISABLE_AFTER = env_int("HUB_RECIPIENT_DISABLE_AFTER", 10, minimum=0)
# Alerts: recipients (by name, besides those marked "receives alerts") told about trouble, at
# most once per problem per interval; an endpoint "starts rejecting" at this many refused
# requests within the interval.
HUB_ALERT_RECIPIENTS = env_list("HUB_ALERT_RECIPIENTS", [])
HUB_ALERT_INTERVAL = env_int("HUB_ALERT_INTERVAL", 15 * 60, minimum=1)
HUB_ALERT_REJECTIONS = env_int("HUB_ALERT_REJECTIONS", 5, minimum=1)
# Retention (integrations/retention.py, nightly): runs with their deliveries are kept forever
# unless HUB_RETENTION_DAYS is set; webhook event bodies go after HUB_EVENT_PAYLOAD_DAYS (the
# event row and its outcome stay). 0 keeps forever. Deleted in batches of HUB_PRUNE_BATCH.
HUB_RETENTION_DAYS = env_int("HUB_RETENTION_DAYS", 0, minimum=0)
HUB_EVENT_PAYLOAD_DAYS = env_int("HUB_EVENT_PAYLOAD_DAYS", 30, minimum=0)
HUB_PRUNE_BATCH = env_int("HUB_PRUNE_BATCH", 500, minimum=1)
# The hub's public address, for the webhook URLs the admin shows (e.g. behind a proxy);
# empty: taken from the browser's request.
HUB_PUBLIC_URL = env_str("HUB_PUBLIC_URL", "").rstrip("/")
# GitLab webhooks: bodies above this answer 413 (GitLab itself sends up to 25 MB, but MR and
# note events are a few kB; a huge body is a misrouted hook, not a review request).
HUB_WEBHOOK_MAX_BYTES = env_int("HUB_WEBHOOK_MAX_BYTES", 5 * 1024 * 1024, minimum=1024)
# Standard Webhooks signatures older or newer than this are refused (replay window).
HUB_WEBHOOK_SIGNATURE_TOLERANCE = env_int("HUB_WEBHOOK_SIGNATURE_TOLERANCE", 300, minimum=1)
# GitLab prepares an MR's diff asynchronously; a review waits for it this many times,
# backing off from the base up to 30 s between looks (about 4 minutes in all). A GitHub review
# waits the same way for the API to show the push a delivery announces.
HUB_GITLAB_DIFF_WAITS = env_int("HUB_GITLAB_DIFF_WAITS", 10, minimum=1)
HUB_GITLAB_DIFF_WAIT_SECONDS = env_int("HUB_GITLAB_DIFF_WAIT_SECONDS", 2, minimum=0)
# A run reads the app's input form from Dify again when the cached one is older than this
# (seconds), so inputs are checked against the form Dify has now.
HUB_DIFY_FORM_MAX_AGE = env_int("HUB_DIFY_FORM_MAX_AGE", 600, minimum=0)
# A stop asked for before Dify reported the run's task id waits this long for it (seconds).
HUB_STOP_WAIT = env_int("HUB_STOP_WAIT", 120, minimum=1)

# --- HTTPS and security headers --------------------------------------------------------------
# One switch (README "Putting it on the internet"): HTTPS mode is on when HUB_PUBLIC_URL is
# https://, or with HUB_HTTPS=true. The rules live in hub/security.py, next to their reasons.
# (Imported here, not at the top, so this block stays in one piece.)
from hub import security  # noqa: E402

HUB_HTTPS = security.check_https(
    env_bool("HUB_HTTPS", HUB_PUBLIC_URL.startswith("https://")), HUB_PUBLIC_URL
)
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = HUB_HTTPS
# (Each variable is read, and so checked, whether HTTPS mode is on or not.)
SECURE_SSL_REDIRECT = env_bool("HUB_SSL_REDIRECT", True) and HUB_HTTPS
SECURE_REDIRECT_EXEMPT = security.SSL_REDIRECT_EXEMPT  # /healthz, /metrics, the webhooks
_hsts_seconds = env_int("HUB_HSTS_SECONDS", security.HSTS_DEFAULT_SECONDS, minimum=0)
SECURE_HSTS_SECONDS = _hsts_seconds if HUB_HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("HUB_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("HUB_HSTS_PRELOAD", False)
# X-Forwarded-Proto decides request.is_secure() only when the operator says a proxy sets it
# and strips a client's own: otherwise anyone could send it. (gunicorn already trusts it from
# a proxy on 127.0.0.1, its forwarded_allow_ips default, without this.)
if env_bool("HUB_TRUSTED_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
CSRF_TRUSTED_ORIGINS = security.trusted_origins(CSRF_TRUSTED_ORIGINS, HUB_PUBLIC_URL)
# Only the HSTS checks an unsafe default would satisfy (hub/security.py says why); kept
# beside whatever else is silenced above.
SILENCED_SYSTEM_CHECKS = [
    *globals().get("SILENCED_SYSTEM_CHECKS", []),
    *security.silenced_hsts_checks(
        SECURE_HSTS_SECONDS, SECURE_HSTS_INCLUDE_SUBDOMAINS, SECURE_HSTS_PRELOAD
    ),
]
# On every answer, admin, API and webhooks alike (SecurityMiddleware, XFrameOptionsMiddleware
# and django-csp's CSPMiddleware).
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
CONTENT_SECURITY_POLICY = security.CONTENT_SECURITY_POLICY
# The admin's look and behaviour without inline style= and onclick= (hub/templates/admin/
# base_site.html adds integrations/hub.css and hub-admin.js to every admin page). A DIRS
# entry, because django.contrib.admin's own base_site.html comes before the app's.
TEMPLATES[0]["DIRS"] = [*TEMPLATES[0]["DIRS"], BASE_DIR / "hub" / "templates"]
# --- end of HTTPS and security headers --------------------------------------------------------

# --- Login protection (django-axes) ---------------------------------------------------------
# Failed admin logins are counted per username *at* a client address by default: after
# HUB_LOGIN_FAILURES of them that pair is refused for HUB_LOGIN_COOLOFF_MINUTES, counted
# again from each further try, so someone elsewhere typing a victim's name cannot lock the
# victim out. HUB_LOGIN_LOCKOUT=separately locks a username from everywhere and an address
# for every username, which also stops guesses spread over many addresses, at the price
# that anyone can lock an admin out (docs/security.md, "Login protection"). The API (keys)
# and the webhooks (tokens, signatures) never reach Django's login, so never count.
# (Imported here, not at the top, so this block stays in one piece.)
from datetime import timedelta  # noqa: E402

from integrations.lockout.address import trusted_peers  # noqa: E402

_LOCKOUTS = {
    "pair": [["username", "ip_address"]],
    "separately": ["username", "ip_address"],
}
_lockout = env_str("HUB_LOGIN_LOCKOUT", "pair")
if _lockout not in _LOCKOUTS:
    raise ImproperlyConfigured(
        f"HUB_LOGIN_LOCKOUT={_lockout!r}: use 'pair' (a username from one address, the "
        "default) or 'separately' (a username from anywhere, and an address for any username)."
    )
AXES_LOCKOUT_PARAMETERS = _LOCKOUTS[_lockout]
AXES_FAILURE_LIMIT = env_int("HUB_LOGIN_FAILURES", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("HUB_LOGIN_COOLOFF_MINUTES", 15, minimum=1))
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = True
AXES_RESET_ON_SUCCESS = True  # a good login forgets its earlier failures
AXES_LOCKOUT_CALLABLE = "integrations.lockout.pages.lockout_response"
AXES_HTTP_RESPONSE_CODE = 429
AXES_ENABLE_ACCESS_FAILURE_LOG = True  # every failure, in the admin under "Login protection"
AXES_VERBOSE = False  # no start-up banner in every process's log
# The client address: REMOTE_ADDR, or behind a proxy gunicorn trusts (FORWARDED_ALLOW_IPS,
# its own variable and default) or HUB_TRUSTED_PROXY, the address the proxy appended to
# X-Forwarded-For (integrations/lockout/address.py).
AXES_CLIENT_IP_CALLABLE = "integrations.lockout.address.client_address"
HUB_TRUSTED_PROXY = env_bool("HUB_TRUSTED_PROXY", False)
HUB_FORWARDED_ALLOW_IPS = trusted_peers(os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1"))
# --- end of login protection ----------------------------------------------------------------

# --- Single sign-on (OpenID Connect; integrations/sso, docs/sso.md) -------------------------
# Off unless HUB_OIDC_ISSUER is set. Only the issuer is configured: the identity provider's
# endpoints come from its discovery document when a login starts, not here (settings must
# not wait on the network). Adds the OIDC backend after axes' one, so lockouts still apply;
# HUB_LOCAL_LOGIN=false also drops the password backend.
from integrations.sso.settings import sso_settings  # noqa: E402

globals().update(
    sso_settings(
        issuer=env_str("HUB_OIDC_ISSUER", ""),
        client_id=env_str("HUB_OIDC_CLIENT_ID", ""),
        client_secret=env_str("HUB_OIDC_CLIENT_SECRET", ""),  # or HUB_OIDC_CLIENT_SECRET_FILE
        name=env_str("HUB_OIDC_NAME", "single sign-on"),
        allowed_domains=env_list("HUB_OIDC_ALLOWED_DOMAINS", []),
        groups_claim=env_str("HUB_OIDC_GROUPS_CLAIM", "groups"),
        role_groups=env_str("HUB_OIDC_ROLE_GROUPS", ""),
        default_role=env_str("HUB_OIDC_DEFAULT_ROLE", ""),
        username_claim=env_str("HUB_OIDC_USERNAME_CLAIM", "email"),
        scopes=env_str("HUB_OIDC_SCOPES", "openid email profile"),
        timeout=env_int("HUB_OIDC_TIMEOUT", 10, minimum=1),
        local_login=env_bool("HUB_LOCAL_LOGIN", True),
        backends=AUTHENTICATION_BACKENDS,
    )
)
# --- end of single sign-on -------------------------------------------------------------------

# --- Metrics (integrations/metrics, docs/operations.md "Monitoring") -------------------------
# GET /metrics answers a hub API key with the metrics scope, or without a key a client
# address in HUB_METRICS_ALLOW (comma-separated addresses or networks; empty: key only).
from integrations.metrics.allow import allowed_networks  # noqa: E402

HUB_METRICS_ALLOW = allowed_networks(env_str("HUB_METRICS_ALLOW", ""))
# --- end of metrics --------------------------------------------------------------------------

# --- REST API (integrations/api) -------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["integrations.api.authentication.HubAPIKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["integrations.api.permissions.CanRead"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "integrations.api.errors.handle_exception",
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "dify-hub API",
    "DESCRIPTION": "Read runs, run digests and retry runs. Authenticate with "
    "`Authorization: Bearer <hub API key>` (admin → Hub API keys, or `manage.py hub apikey`).",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_AUTHENTICATION": [],
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "RunStatusEnum": "integrations.models.runs.Run.Status",
        "DeliveryStatusEnum": "integrations.models.runs.Delivery.Status",
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        # HUB_PROCESS (web, worker-1, beat; set by hub/processes.py) tells the lines of the
        # processes apart where they share one terminal or journal.
        "plain": {
            "format": "%(asctime)s "
            + (f"{_process} " if (_process := env_str("HUB_PROCESS", "")) else "")
            + "%(levelname)s %(name)s: %(message)s"
        },
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain"},
        "null": {"class": "logging.NullHandler"},
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        # urllib3 logs full request URLs at DEBUG; chat webhook URLs carry tokens.
        "urllib3": {"level": "WARNING"},
        # Apprise's plugins log request URLs and parsed arguments (tokens, passwords); the
        # hub keeps each call's own lines, redacted, in the delivery's attempt row instead.
        "apprise": {"handlers": ["null"], "level": "WARNING", "propagate": False},
        "django.db.backends": {"level": "INFO"},
    },
}
