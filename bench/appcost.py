#!/usr/bin/python3
"""CPU cost of a real application's request without any server.

    /usr/bin/python3 bench/appcost.py [--app django|flask] [--calls N]

Imports bench/apps/<app>_app.py in this process (a private copy of bench/apps,
with the SQLite table for Django) and calls its WSGI ``application`` with a
minimal environ for the same URL the whole-server cells use, consuming the
body: first on one thread, then on 16 threads of one process (the 2x16 daemon
layout's threads per process), and prints the process CPU time (user+system)
per call, and with ``--profile`` the top functions by cumulative time
(cProfile, one thread). The difference between a server's CPU µs/request in
``bench/run.py`` and these figures is what the server (HTTP, relay, WSGI
adapter, GIL hand-offs) costs on top of the application.
"""

import argparse
import cProfile
import io
import os
import pstats
import shutil
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import realapps  # noqa: E402

PATHS = {"django": ("/", ""), "flask": ("/api/items/20", "offset=5")}


def environ_for(app):
    path, query = PATHS[app]
    return {
        "REQUEST_METHOD": "GET", "SCRIPT_NAME": "", "PATH_INFO": path,
        "QUERY_STRING": query, "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000", "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "127.0.0.1:8000", "REMOTE_ADDR": "127.0.0.1",
        "wsgi.version": (1, 0), "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(b""), "wsgi.errors": sys.stderr,
        "wsgi.multithread": True, "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }


def call(application, app):
    status = []

    def start_response(s, headers, exc_info=None):
        status.append(s)

    result = application(environ_for(app), start_response)
    try:
        body = b"".join(result)
    finally:
        if hasattr(result, "close"):
            result.close()
    if not status or not status[0].startswith("200") or not body:
        raise SystemExit("%s: %r %r" % (app, status, body[:200]))
    return body


def cpu_per_call(application, app, calls, threads):
    per = calls // threads

    def worker():
        for _ in range(per):
            call(application, app)

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    c0, t0 = time.process_time(), time.monotonic()
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    c1, t1 = time.process_time(), time.monotonic()
    n = per * threads
    return (c1 - c0) / n * 1e6, n / (t1 - t0)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--app", choices=sorted(PATHS), default="django")
    p.add_argument("--calls", type=int, default=4000)
    p.add_argument("--profile", action="store_true",
                   help="print the top 25 functions (cProfile, 1 thread)")
    args = p.parse_args()
    tmp = tempfile.mkdtemp(prefix="modwsgi-appcost-")
    try:
        apps = os.path.join(tmp, "apps")
        shutil.copytree(os.path.join(HERE, "apps"), apps,
                        ignore=shutil.ignore_patterns("__pycache__"))
        if args.app == "django":
            realapps.make_django_db(apps)
        sys.path.insert(0, apps)
        mod = __import__("%s_app" % args.app)
        application = mod.application
        for _ in range(200):  # warm-up: imports, template cache
            call(application, args.app)
        print("| app | threads | calls | CPU µs/call | calls/s |")
        print("|---|---:|---:|---:|---:|")
        for threads in (1, 16):
            cpu, rate = cpu_per_call(application, args.app, args.calls,
                                     threads)
            print("| %s | %d | %d | %.0f | %.0f |" % (
                args.app, threads, args.calls, cpu, rate))
        if args.profile:
            prof = cProfile.Profile()
            prof.enable()
            for _ in range(args.calls // 4):
                call(application, args.app)
            prof.disable()
            out = io.StringIO()
            pstats.Stats(prof, stream=out).sort_stats("cumulative") \
                .print_stats(25)
            print(out.getvalue())
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
