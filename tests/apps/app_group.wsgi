# Reports the interpreter (application group) it runs in, from both the
# built-in mod_wsgi module and the environ, as key=value lines.
import mod_wsgi


def application(environ, start_response):
    body = "module_group=%s\nenviron_group=%s\nprocess_group=%s\n" % (
        mod_wsgi.application_group,
        environ.get("mod_wsgi.application_group"),
        mod_wsgi.process_group,
    )
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [body.encode()]
