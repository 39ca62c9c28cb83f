"""Whole-server cells of bench/run.py: real applications, scale, start-up
and recycle.

* ``django/servers/C``, ``flask/servers/C``: the Django view and the Flask
  JSON API (bench/apps) under every server of ``servers.SERVERS`` (our and
  pip's mod_wsgi-express, defaults and 2x16, gunicorn gthread 2x16, granian
  2 workers): req/s, p99, CPU per request, PSS of the whole process tree;
* ``hello/scale/1000``: 1,000 keep-alive connections on the event MPM,
  both expresses with their defaults plus ``--max-clients 1000``;
* ``startup/express/1``: seconds from spawning ``start-server`` to the
  first 200 (hello), both expresses, defaults;
* ``recycle/express/1``: ``--maximum-requests`` on a 1-process daemon, a
  sequential keep-alive client asking the PID of the daemon process: the
  gap between the last response of the old process and the first of its
  replacement.
"""

import http.client
import os
import sqlite3
import statistics
import time

import apache
import servers
import wrk

REAL_APPS = {
    # app: (script, module, path, body check)
    "django": ("django_app.py", "django_app:application", "/",
               lambda b: b.count(b"<td>ITEM") == 20),
    "flask": ("flask_app.py", "flask_app:application",
              "/api/items/20?offset=5", lambda b: b'"count":20' in
              b.replace(b" ", b"")),
}
REAL_CONC = (16, 64)
SCALE_C = 1000
SCALE_MAX_CLIENTS = 1000  # --max-clients of the c=1000 cell
RECYCLE_EVERY = 100     # --maximum-requests of the recycle cell
RECYCLES = 3            # replacements observed per run


class Cell:
    def __init__(self, app, mode, c):
        self.app, self.mode, self.c = app, mode, c

    @property
    def key(self):
        return "%s/%s/%d" % (self.app, self.mode, self.c)

    def servers(self, enabled):
        if self.mode == "servers":
            names = list(servers.SERVERS)
        else:
            names = ["ours-express", "pip-express"]
        return [n for n in names if n in enabled]


def build_matrix(quick, match):
    """match(app, mode, c) -> bool is run.py's --only filter (or None)."""
    cells = []
    for app in REAL_APPS:
        for c in ((16,) if quick else REAL_CONC):
            cells.append(Cell(app, "servers", c))
    cells.append(Cell("hello", "scale", SCALE_C))
    cells.append(Cell("startup", "express", 1))
    cells.append(Cell("recycle", "express", 1))
    if match:
        cells = [x for x in cells if match(x.app, x.mode, x.c)]
    return cells


def estimate(cell, args):
    if cell.mode == "servers":
        return args.duration + args.warmup + args.settle + 3
    if cell.mode == "scale":
        return args.scale_duration + 2 + args.settle + 3
    if cell.app == "startup":
        return 3
    return 12


def make_django_db(apps):
    """The 20-row table the Django view reads (apps/bench.sqlite3)."""
    path = os.path.join(apps, "bench.sqlite3")
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT, "
               "value INTEGER)")
    db.executemany("INSERT INTO item (name, value) VALUES (?, ?)",
                   [("item%d" % i, i * i) for i in range(20)])
    db.commit()
    db.close()
    os.chmod(path, 0o644)


def run_one(cell, server, rep, args):
    row = dict(cell=cell.key, app=cell.app, mode=cell.mode, c=cell.c,
               server=server, rep=rep, status="ok", detail="")
    ok, exe = servers.available(server)
    if not ok:
        row.update(status="skipped", detail="%s not found" % exe)
        return row
    if cell.mode == "servers":
        script, module, path, check = REAL_APPS[cell.app]
        extra, prepare = (), (make_django_db if cell.app == "django"
                              else None)
    elif cell.mode == "scale":
        script, module, path = "hello.wsgi", None, "/"
        check = lambda b: b == b"Hello World!\n"  # noqa: E731
        extra, prepare = ("--max-clients", str(SCALE_MAX_CLIENTS)), None
    elif cell.app == "startup":
        script, module, path = "hello.wsgi", None, "/"
        check = lambda b: b == b"Hello World!\n"  # noqa: E731
        extra, prepare = (), None
    else:
        script, module, path = "pid.wsgi", None, "/"
        check = lambda b: b.isdigit()  # noqa: E731
        extra = ("--processes", "1", "--threads", "5",
                 "--maximum-requests", str(RECYCLE_EVERY))
        prepare = None
    srv = servers.Server(server, script, module, extra, keep=args.keep,
                         prepare=prepare)
    try:
        try:
            row["startup_s"] = round(srv.start(path, args.start_timeout), 3)
        except servers.StartError as e:
            row.update(status="start-failed", detail="%s; %s" % (
                e, _last_line(e.log)))
            return row
        st, body = srv.get(path)
        if st != 200 or not check(body):
            row.update(status="preflight-failed", detail="HTTP %s %r; %s" % (
                st, body[:80], _last_line(srv.log_tail())))
            return row
        if cell.app == "startup":
            return row
        if cell.app == "recycle":
            row.update(recycle(srv, path, args))
            return row
        time.sleep(args.settle)
        rss, pss, n = apache.tree_memory_kib(srv.proc.pid)
        row.update(rss_idle_kib=rss, pss_idle_kib=pss, procs_idle=n)
        dur = args.scale_duration if cell.mode == "scale" else args.duration
        warm = 2 if cell.mode == "scale" else args.warmup
        if warm > 0:
            wrk.run(srv.url(path), cell.c, warm)
        row.update(measure(srv, srv.url(path), cell.c, dur))
        if srv.proc.poll() is not None:
            row.update(status="server-died", detail=_last_line(srv.log_tail()))
        elif row["requests"] == 0:
            row.update(status="no-requests", detail=_last_line(srv.log_tail()))
        elif row["errors"]:
            row["detail"] = "%d errors; %s" % (row["errors"],
                                               _last_line(srv.log_tail()))
        return row
    except wrk.WrkError as e:
        row.update(status="wrk-failed", detail=str(e))
        return row
    finally:
        srv.stop()


def measure(srv, url, c, duration):
    """wrk for `duration` s with tree CPU and memory sampled around it."""
    pid = srv.proc.pid
    cpu0, _ = apache.tree_cpu_us(pid)
    t0 = time.monotonic()
    proc = wrk.start(url, c, duration)
    samples = []
    next_sample = t0 + min(1.0, duration * 0.3)
    while proc.poll() is None:
        now = time.monotonic()
        if next_sample <= now < t0 + duration - 0.2:
            samples.append(apache.tree_memory_kib(pid))
            next_sample = now + max(0.5, duration / 5.0)
        time.sleep(0.05)
    cpu1, _ = apache.tree_cpu_us(pid)
    r = wrk.finish(proc, duration)
    if not samples:
        samples.append(apache.tree_memory_kib(pid))
    cpu = cpu1 - cpu0
    return dict(
        requests=r["requests"], seconds=round(r["duration_us"] / 1e6, 3),
        rps=round(r["rps"], 1), p50_ms=r["lat_p50_us"] / 1000.0,
        p99_ms=r["lat_p99_us"] / 1000.0, max_ms=r["lat_max_us"] / 1000.0,
        errors=r["errors"], err_connect=r["err_connect"],
        err_read=r["err_read"], err_write=r["err_write"],
        err_status=r["err_status"], err_timeout=r["err_timeout"],
        cpu_us_per_req=(round(cpu / r["requests"], 1) if r["requests"]
                        else None),
        rss_loaded_kib=max(s[0] for s in samples),
        pss_loaded_kib=max(s[1] for s in samples),
        procs_loaded=max(s[2] for s in samples))


def recycle(srv, path, args):
    """Sequential GETs on one keep-alive connection until RECYCLES daemon
    replacements were seen (or the time limit); the gap of a replacement
    is end of the last old-PID response -> end of the first new-PID one."""
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=30)
    seen, gaps, firsts, errors, n = [], [], [], 0, 0
    last_end = last_pid = None
    deadline = time.monotonic() + args.recycle_limit
    while len(gaps) < RECYCLES and time.monotonic() < deadline:
        t0 = time.monotonic()
        try:
            conn.request("GET", path)
            r = conn.getresponse()
            body = r.read()
            st = r.status
        except (OSError, http.client.HTTPException):
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", srv.port,
                                              timeout=30)
            errors += 1
            continue
        t1 = time.monotonic()
        n += 1
        if st != 200 or not body.isdigit():
            errors += 1
            continue
        pid = int(body)
        if last_pid is not None and pid != last_pid and pid not in seen:
            gaps.append((t1 - last_end) * 1000.0)
            firsts.append((t1 - t0) * 1000.0)
        if pid not in seen:
            seen.append(pid)
        last_pid, last_end = pid, t1
    conn.close()
    out = dict(requests=n, errors=errors, recycles=len(gaps),
               gap_ms=round(statistics.median(gaps), 1) if gaps else None,
               gap_max_ms=round(max(gaps), 1) if gaps else None,
               first_new_ms=round(statistics.median(firsts), 1)
               if firsts else None)
    if len(gaps) < RECYCLES:
        out.update(status="no-recycle", detail="%d of %d replacements seen "
                   "in %d requests" % (len(gaps), RECYCLES, n))
    return out


def _last_line(text):
    lines = [x for x in (text or "").splitlines() if x.strip()]
    return lines[-1].strip()[-300:] if lines else "(log empty)"
