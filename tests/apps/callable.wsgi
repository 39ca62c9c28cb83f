# Two callables: `application` (the default name) and `myapp` (selected by
# WSGICallableObject or callable-object=). Each reports which one ran plus the
# module's __file__ and __name__ as key=value lines.
def _report(which, start_response):
    body = "callable=%s\nfile=%s\nname=%s\n" % (which, __file__, __name__)
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [body.encode()]


def application(environ, start_response):
    return _report("application", start_response)


def myapp(environ, start_response):
    return _report("myapp", start_response)
