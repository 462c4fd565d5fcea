"""gunicorn settings of one app host: `gunicorn -c deploy/gunicorn.conf.py app:app`.

The app is CPU-bound (a code page signs a token and draws its QR), so sync workers, one per
core: measured on 2 cores, 2 workers did 1.99x one and 4 did less than 2 (bench/README.md).
Every value can be set from the environment (docs/deployment.md).
"""

import multiprocessing
import os

# The host's own address; HAProxy (deploy/haproxy.cfg) is the only client.
bind = os.environ.get("GANTONG_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count()))
worker_class = "sync"
# A request past this is killed and its worker replaced (HAProxy's `timeout server` is longer).
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
# On SIGTERM (a deploy), finish the requests in progress first.
graceful_timeout = 30
# Requests wait in HAProxy's queue, where they can still go to another host, not here.
backlog = int(os.environ.get("GUNICORN_BACKLOG", "64"))
# Workers are replaced now and then, spread out, so no slow leak grows for ever.
max_requests = 20000
max_requests_jitter = 2000
# Each worker opens its own database connections after the fork: the app is not preloaded,
# so no connection (or pool) is ever shared between processes.
preload_app = False
# The app reads X-Forwarded-For itself (PROXY_COUNT=1, werkzeug's ProxyFix); gunicorn's own
# handling of forwarded headers is left at its default (trusted only from 127.0.0.1).
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
# gunicorn 23+'s control socket is one path per user (~/.gunicorn/gunicorn.ctl): two instances
# on one machine (as in the failover bench) would fight over it, and nothing here uses it.
control_socket_disable = True
