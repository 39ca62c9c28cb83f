# A WSGIHandlerScript: serves the requested file (SCRIPT_FILENAME)
# upper-cased, with a per-module-load request counter. reload_required()
# asks for a reload whenever the requested resource ends in "reload.txt".
import os

counter = 0


def reload_required(resource):
    return resource.endswith("reload.txt")


def handle_request(environ, start_response):
    global counter
    counter += 1
    with open(environ["SCRIPT_FILENAME"], "rb") as f:
        data = f.read().upper()
    start_response("200 OK", [
        ("Content-Type", "text/plain"),
        ("X-Counter", str(counter)),
        ("X-Handler-Script", environ.get("mod_wsgi.handler_script", "")),
        ("X-Callable", environ.get("mod_wsgi.callable_object", "")),
        ("X-Request-Handler", environ.get("mod_wsgi.request_handler", "")),
    ])
    return [data]
