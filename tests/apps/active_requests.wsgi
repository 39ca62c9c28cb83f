# mod_wsgi.active_requests and request_data() without any event subscriber
# (tests/events.rs): looked at when the script loads, so every request is
# entered in it; the request finds its own request_data there.
import mod_wsgi

ACTIVE = mod_wsgi.active_requests


def application(environ, start_response):
    data = mod_wsgi.request_data()
    data['mine'] = True
    mine = [k for k, v in mod_wsgi.active_requests.items() if v is data]
    text = 'same=%s listed=%d type=%s' % (
        ACTIVE is mod_wsgi.active_requests, len(mine),
        type(mine[0]).__name__ if mine else '-')
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return [text.encode()]
