# Reports interpreter settings that WSGIPython* directives control, as
# key=value lines (lists joined with '|'), plus whether the test modules from
# WSGIPythonPath / a venv are importable.
import importlib
import sys


def _importable(name):
    try:
        mod = importlib.import_module(name)
        return getattr(mod, "MARKER", "no-marker")
    except Exception as exc:  # report, don't fail: the test asserts
        return "ImportError:%s" % exc


def application(environ, start_response):
    lines = [
        "optimize=%d" % sys.flags.optimize,
        "dont_write_bytecode=%s" % sys.dont_write_bytecode,
        "flag_dont_write_bytecode=%d" % sys.flags.dont_write_bytecode,
        "hash_randomization=%d" % sys.flags.hash_randomization,
        "hash_x=%d" % hash("x"),
        "warnoptions=%s" % "|".join(sys.warnoptions),
        "prefix=%s" % sys.prefix,
        "base_prefix=%s" % sys.base_prefix,
        "executable=%s" % sys.executable,
        "path=%s" % "|".join(sys.path),
        "pp_mod=%s" % _importable("harness_pp_mod"),
        "pth_mod=%s" % _importable("harness_pth_mod"),
        "venv_pkg=%s" % _importable("harness_venv_pkg"),
    ]
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [("\n".join(lines) + "\n").encode()]
