# Reports which process serves the request and how it was set up, as
# key=value lines: pid, uid/gid, cwd, sys.path head, process group (environ
# and mod_wsgi module), multiprocess/multithread, the process's command line
# and selected environ keys. Daemon-mode tests compare these across groups.
import os
import sys

import mod_wsgi


def current_umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def application(environ, start_response):
    with open("/proc/self/cmdline", "rb") as f:
        cmdline = f.read().replace(b"\0", b" ").decode("latin-1").strip()
    lines = [
        "pid=%d" % os.getpid(),
        "uid=%d" % os.getuid(),
        "gid=%d" % os.getgid(),
        "cwd=%s" % os.getcwd(),
        "path0=%s" % sys.path[0],
        "path=%s" % ":".join(sys.path),
        "env_group=%s" % environ.get("mod_wsgi.process_group"),
        "module_group=%s" % mod_wsgi.process_group,
        "multiprocess=%s" % environ["wsgi.multiprocess"],
        "multithread=%s" % environ["wsgi.multithread"],
        "cmdline=%s" % cmdline,
        "umask=%o" % current_umask(),
        "lang=%s" % os.environ.get("LANG", ""),
        "script_name=%s" % environ.get("SCRIPT_NAME"),
        "path_info=%s" % environ.get("PATH_INFO"),
        "query=%s" % environ.get("QUERY_STRING"),
        "scheme=%s" % environ["wsgi.url_scheme"],
        "queue_start=%s" % (float(environ.get("mod_wsgi.queue_start", 0)) > 0),
        "daemon_start=%s" % (float(environ.get("mod_wsgi.daemon_start", 0)) > 0),
        "host=%s" % environ.get("HTTP_HOST"),
    ]
    body = ("\n".join(lines) + "\n").encode()
    start_response("200 OK", [
        ("Content-Type", "text/plain"),
        ("Content-Length", str(len(body))),
        ("Set-Cookie", "a=1"),
        ("Set-Cookie", "b=2"),
    ])
    return [body]
