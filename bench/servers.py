"""Start/stop the whole-server contenders of the real-application cells.

Each server is a command line that listens on a loopback port of its own:

* our ``mod_wsgi-express`` (``target/release/mod_wsgi-express``, which loads
  the ``libmod_wsgi.so`` next to it) and pip's mod_wsgi-express 6.1.1
  (``/var/tmp/mod_wsgi-rs/pip-venv``), both ``start-server`` with the same
  options, as www-data;
* gunicorn (gthread worker) and granian (WSGI interface), installed by
  ``ensure_venv()`` with pinned versions into a venv under /var/tmp/mod_wsgi-rs
  that sees the system site-packages (Debian's python3-django/python3-flask).

Stopping signals only the PID we started, then SIGKILLs whatever is left of
the process tree recorded just before (each PID checked against its start
time, so a recycled PID is never signalled).
"""

import http.client
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import apache

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
APPS_DIR = os.path.join(HERE, "apps")

OURS_EXPRESS = os.path.join(REPO, "target", "release", "mod_wsgi-express")
PIP_EXPRESS = "/var/tmp/mod_wsgi-rs/pip-venv/bin/mod_wsgi-express"
VENV = "/var/tmp/mod_wsgi-rs/bench-servers"
PINS = {"gunicorn": "27.0.1", "granian": "2.8.7"}
# pip's venv does not see the system site-packages: both expresses get the
# same --python-path so that Debian's Django and Flask are importable.
DIST_PACKAGES = "/usr/lib/python3/dist-packages"


class StartError(Exception):
    def __init__(self, msg, log=""):
        super().__init__(msg)
        self.log = log


def log(msg):
    sys.stderr.write("[%s] %s\n" % (time.strftime("%H:%M:%S"), msg))
    sys.stderr.flush()


def _venv_version(tool):
    exe = os.path.join(VENV, "bin", tool)
    if not os.path.exists(exe):
        return None
    try:
        out = subprocess.run([exe, "--version"], capture_output=True,
                             text=True, timeout=30).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.replace("(", " ").replace(")", " ").split()[-1] if out else None


def ensure_venv():
    """Create/update the gunicorn+granian venv; returns a note or None."""
    if all(_venv_version(t) == v for t, v in PINS.items()):
        return None
    log("installing %s into %s" % (
        ", ".join("%s==%s" % kv for kv in PINS.items()), VENV))
    if not os.path.exists(os.path.join(VENV, "bin", "pip")):
        subprocess.run(["/usr/bin/python3", "-m", "venv",
                        "--system-site-packages", VENV], check=True)
    r = subprocess.run([os.path.join(VENV, "bin", "pip"), "install", "-q"]
                       + ["%s==%s" % kv for kv in PINS.items()],
                       capture_output=True, text=True)
    if r.returncode != 0:
        return "gunicorn/granian not installed: %s" % r.stderr.strip()[-200:]
    return None


def versions():
    out = {t: _venv_version(t) for t in PINS}
    try:
        out["pip-express"] = subprocess.run(
            [PIP_EXPRESS.replace("mod_wsgi-express", "python"), "-c",
             "import importlib.metadata as m; print(m.version('mod_wsgi'))"],
            capture_output=True, text=True, timeout=30).stdout.strip()
    except OSError:
        out["pip-express"] = None
    return out


# name -> (kind, processes, threads); threads None = the server's default
SERVERS = {
    "ours-express": ("ours", None, None),
    "pip-express": ("pip", None, None),
    "ours-express-2x16": ("ours", 2, 16),
    "pip-express-2x16": ("pip", 2, 16),
    "gunicorn-2x16": ("gunicorn", 2, 16),
    "granian-2": ("granian", 2, None),
}


def available(name):
    kind = SERVERS[name][0]
    exe = {"ours": OURS_EXPRESS, "pip": PIP_EXPRESS,
           "gunicorn": os.path.join(VENV, "bin", "gunicorn"),
           "granian": os.path.join(VENV, "bin", "granian")}[kind]
    return os.path.exists(exe), exe


class Server:
    """One server process serving one app from a private copy of bench/apps.

    script: file name in bench/apps (mod_wsgi-express's WSGI script);
    module: "module:callable" for gunicorn/granian; extra: more
    mod_wsgi-express options (e.g. --max-clients 1000).
    """

    def __init__(self, name, script, module, extra=(), keep=False,
                 prepare=None):
        self.name = name
        self.kind, self.processes, self.threads = SERVERS[name]
        self.script, self.module = script, module
        self.extra = list(extra)
        self.keep = keep
        self.prepare = prepare
        self.root = self.proc = self.port = None
        self.started_at = None
        self._out = None

    def command(self):
        apps = os.path.join(self.root, "apps")
        port = str(self.port)
        if self.kind in ("ours", "pip"):
            exe = OURS_EXPRESS if self.kind == "ours" else PIP_EXPRESS
            cmd = [exe, "start-server", os.path.join(apps, self.script),
                   "--host", "127.0.0.1", "--port", port,
                   "--server-root", os.path.join(self.root, "express"),
                   "--user", "www-data", "--group", "www-data",
                   "--python-path", DIST_PACKAGES]
            if self.processes:
                cmd += ["--processes", str(self.processes),
                        "--threads", str(self.threads)]
            return cmd + self.extra
        if self.kind == "gunicorn":
            return [os.path.join(VENV, "bin", "gunicorn"), "-k", "gthread",
                    "-w", str(self.processes), "--threads", str(self.threads),
                    "-b", "127.0.0.1:" + port, "--chdir", apps,
                    "--log-level", "warning", self.module]
        return [os.path.join(VENV, "bin", "granian"), "--interface", "wsgi",
                "--workers", str(self.processes), "--host", "127.0.0.1",
                "--port", port, "--working-dir", apps, "--log-level",
                "warning", "--no-access-log", self.module]

    def start(self, path, timeout=30.0):
        """Start and poll GET path until 200; returns seconds from the
        spawn to that first 200 (the start-up time)."""
        self.root = tempfile.mkdtemp(prefix="modwsgi-bench-%s-" % self.name)
        os.chmod(self.root, 0o755)
        apps = os.path.join(self.root, "apps")
        shutil.copytree(APPS_DIR, apps,
                        ignore=shutil.ignore_patterns("__pycache__"))
        for d, _, _ in os.walk(self.root):
            os.chmod(d, 0o755)
        if self.prepare:
            self.prepare(apps)
        self.port = apache.free_port()
        self._out = open(os.path.join(self.root, "server.log"), "wb")
        t0 = time.monotonic()
        self.proc = subprocess.Popen(self.command(), stdin=subprocess.DEVNULL,
                                     stdout=self._out, stderr=subprocess.STDOUT,
                                     cwd=self.root, start_new_session=True)
        deadline = t0 + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise StartError("%s exited %s" % (self.name,
                                                   self.proc.returncode),
                                 self.log_tail())
            try:
                st, _ = self.get(path, timeout=1.0)
                if st == 200:
                    return time.monotonic() - t0
            except OSError:
                pass
            time.sleep(0.02)
        raise StartError("%s: no 200 on %s within %.0f s"
                         % (self.name, path, timeout), self.log_tail())

    def get(self, path, timeout=10.0):
        c = http.client.HTTPConnection("127.0.0.1", self.port,
                                       timeout=timeout)
        try:
            c.request("GET", path)
            r = c.getresponse()
            return r.status, r.read()
        finally:
            c.close()

    def url(self, path):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def log_tail(self, n=4000):
        text = ""
        for name in ("server.log", "express/error_log"):
            try:
                with open(os.path.join(self.root, name), "rb") as f:
                    f.seek(0, 2)
                    f.seek(max(0, f.tell() - n))
                    text += f.read().decode("utf-8", "replace")
            except OSError:
                pass
        return text

    def stop(self, timeout=10.0):
        if self.proc is not None:
            pids, _ = apache.process_tree(self.proc.pid)
            starts = {p: _start_time(p) for p in pids}
            if self.proc.poll() is None:
                # ours: SIGTERM drains (nothing is in flight here)
                self.proc.send_signal(signal.SIGTERM)
                try:
                    self.proc.wait(timeout)
                except subprocess.TimeoutExpired:
                    pass
            deadline = time.monotonic() + 3
            while time.monotonic() < deadline:
                alive = [p for p in pids
                         if starts[p] and _start_time(p) == starts[p]]
                if not alive:
                    break
                time.sleep(0.05)
            for p in pids:
                if starts[p] and _start_time(p) == starts[p]:
                    try:
                        os.kill(p, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
            if self.proc.poll() is None:
                self.proc.wait(5)
            self.proc = None
        if self._out:
            self._out.close()
            self._out = None
        if self.root and not self.keep:
            shutil.rmtree(self.root, ignore_errors=True)


def _start_time(pid):
    """Start time (clock ticks since boot) of a live, non-zombie pid."""
    try:
        with open("/proc/%d/stat" % pid, "rb") as f:
            data = f.read()
    except OSError:
        return None
    rest = data[data.rindex(b")") + 2:].split()
    return None if rest[0] == b"Z" else int(rest[19])
