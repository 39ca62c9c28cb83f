# Marks its interpreter's sys module on first use and reports which mount
# marked it: two mounts sharing an interpreter would see each other's mark.
import sys


def application(environ, start_response):
    if not hasattr(sys, "harness_owner"):
        sys.harness_owner = environ["SCRIPT_NAME"]
    body = "owner=%s\ngroup=%s\n" % (sys.harness_owner, environ["mod_wsgi.application_group"])
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [body.encode()]
