# Takes 0.5 s to import (module-level sleep), so concurrent first requests
# overlap the script load: none of them may see a half-loaded module.
import time

time.sleep(0.5)


def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"loaded once"]
