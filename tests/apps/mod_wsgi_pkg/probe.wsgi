# Reports which `mod_wsgi` this interpreter has and where the subpackages of
# the pip-installed `mod_wsgi` namespace import from beside it.
import importlib

import mod_wsgi


def where(name):
    try:
        return importlib.import_module(name).__file__
    except ImportError as e:
        return "ImportError: %s" % e


def application(environ, start_response):
    express = where("mod_wsgi.express.runtime")
    if not express.startswith("ImportError"):
        # What the handler.wsgi of pip's mod_wsgi-express server root does.
        from mod_wsgi.express.runtime import ApplicationHandler  # noqa: F401
    lines = [
        "implementation=%s" % getattr(mod_wsgi, "implementation", "missing"),
        "group=%s" % mod_wsgi.application_group,
        "express=%s" % express,
        "telemetry=%s" % where("mod_wsgi.telemetry"),
    ]
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [("\n".join(lines) + "\n").encode()]
