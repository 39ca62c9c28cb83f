# Runs in several application groups at once: imports C extensions known to
# keep per-interpreter state (_decimal, sqlite3, json), does a little work
# with each, and checks that this interpreter's module-level state is its
# own: TOKEN is set once per interpreter from the first request's group.
import decimal
import json
import sqlite3
import sys
import threading

import mod_wsgi

TOKEN = None
LOCK = threading.Lock()


def application(environ, start_response):
    global TOKEN
    group = environ["mod_wsgi.application_group"]
    with LOCK:
        if TOKEN is None:
            TOKEN = group
    checks = {"token": TOKEN == group, "module": mod_wsgi.application_group == group}
    with decimal.localcontext() as ctx:
        ctx.prec = 12
        d = decimal.Decimal(1) / decimal.Decimal(7)
    db = sqlite3.connect(":memory:")
    db.execute("create table t (g text)")
    db.execute("insert into t values (?)", (group,))
    (row,) = db.execute("select g from t").fetchone()
    db.close()
    payload = json.loads(json.dumps({"g": group}))
    checks["sqlite"] = row == group
    checks["json"] = payload["g"] == group
    checks["decimal"] = str(d) == "0.142857142857"
    ok = all(checks.values())
    body = "group=%s\nok=%s\n" % (group, ok)
    if not ok:
        body += "checks=%r token=%r module=%r\n" % (checks, TOKEN, mod_wsgi.application_group)
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [body.encode()]
