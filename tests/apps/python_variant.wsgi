# Which Python serves this request: its version, prefixes, the libpython
# files mapped into this process, whether a package that only a test's
# venv holds imports, and the application group, one
# "key=value" line each (tests/python_variant.rs).
import sys


def venv_pkg():
    try:
        import variant_venv_pkg
    except ImportError:
        return "absent"
    return variant_venv_pkg.MARKER


def application(environ, start_response):
    with open("/proc/self/maps") as maps:
        libs = sorted({line.split()[-1] for line in maps if "/libpython" in line})
    lines = [
        "version=%d.%d" % sys.version_info[:2],
        "full_version=%s" % sys.version.split()[0],
        "base_prefix=%s" % sys.base_prefix,
        "prefix=%s" % sys.prefix,
        "venv_pkg=%s" % venv_pkg(),
        "libpython=%s" % " ".join(libs),
        "group=%s" % environ["mod_wsgi.application_group"],
        "process_group=%s" % environ["mod_wsgi.process_group"],
    ]
    body = ("\n".join(lines) + "\n").encode()
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Content-Length", str(len(body)))])
    return [body]
