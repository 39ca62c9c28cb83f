# Starts `sleep 60` the way ?how= says (popen: subprocess.Popen, the usual
# way; posix_spawn: os.posix_spawn with an empty signal mask and SIGINT,
# SIGPIPE and SIGXFSZ at their defaults, the workaround for embedded mode;
# fork: os.fork, the child sleeping in Python), writes its pid to ?pidfile= (so
# a failing test can still kill it), reads SigBlk/SigIgn from its
# /proc/<pid>/status, sends it SIGTERM and waits up to 3 s. Answers
# "pid=", "sigblk=", "sigign=", "returncode=", "server=" (this process) lines; returncode is
# "timeout" when SIGTERM did nothing (the child is then SIGKILLed and reaped).
import os
import signal
import subprocess
import time
from urllib.parse import parse_qs


def status_field(pid, name):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(name + ":"):
                return line.split()[1]
    return "?"


def wait(pid, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.02)
    return None


def application(environ, start_response):
    qs = parse_qs(environ.get("QUERY_STRING", ""))
    how = qs.get("how", ["popen"])[0]
    if how == "posix_spawn":
        sigs = (signal.SIGINT, signal.SIGPIPE, signal.SIGXFSZ)
        pid = os.posix_spawn("/bin/sleep", ["sleep", "60"], dict(os.environ),
                             setsigmask=(), setsigdef=sigs)
    elif how == "fork":
        pid = os.fork()
        if pid == 0:
            time.sleep(60)
            os._exit(0)
    else:
        pid = subprocess.Popen(["sleep", "60"]).pid
    with open(qs["pidfile"][0], "w") as f:
        f.write(str(pid))
    blk, ign = status_field(pid, "SigBlk"), status_field(pid, "SigIgn")
    os.kill(pid, signal.SIGTERM)
    code = wait(pid, 3)
    if code is None:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        code = "timeout"
    body = "pid=%d\nsigblk=%s\nsigign=%s\nreturncode=%s\nserver=%d\n" % (
        pid, blk, ign, code, os.getpid())
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [body.encode()]
