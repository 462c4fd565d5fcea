"""The bare Flask app the throughput figures are compared with.

Served with the project's gunicorn settings (sync workers):
    gunicorn -w 2 -b 127.0.0.1:8001 --chdir bench bare_app:app

- ``/ok``: ``return "ok"``, the floor of a Flask request through gunicorn.
- ``/template``: renders a ~4 KB Jinja template (compiled once, cached by Jinja's
  environment like any Flask template) and gzips it at level 6, only when the client sends
  ``Accept-Encoding: gzip``: about what a real page costs without any application logic.
"""

from __future__ import annotations

import gzip
import time

from flask import Flask, Response, render_template, request

app = Flask(__name__)

ROWS = [
    {
        "place": f"检查点 {i:02d}",
        "when": f"2026-05-{1 + i % 28:02d} 08:{i % 60:02d}",
        "colour": ("green", "yellow", "red")[i % 3],
    }
    for i in range(16)
]


@app.get("/ok")
def ok():
    return "ok"


@app.get("/template")
def template():
    html = render_template("bare.html", rows=ROWS, now=time.time())
    if "gzip" not in request.headers.get("Accept-Encoding", ""):
        return Response(html, mimetype="text/html")
    response = Response(gzip.compress(html.encode(), compresslevel=6), mimetype="text/html")
    response.headers["Content-Encoding"] = "gzip"
    response.headers["Vary"] = "Accept-Encoding"
    return response
