# Raises from inside the application callable; the message is unique so tests
# can find the traceback in the error log.
def application(environ, start_response):
    raise RuntimeError("harness-boom-4711 raised by raise_error.wsgi")
