# Events probe (tests/events.rs): subscribers write one line per event to
# the error log: EVT <name> tag=<X-Tag of the request> <key>:<type> ...
# plus a few values the tests check. A second subscriber shows what the
# first one's returned dict added; signal subscribers (daemon mode) log
# process_signal; /pid answers the process id. /raise fails in the application; the
# X-Bad-Callback header makes a subscriber raise.
import os
import sys
import mod_wsgi

def _line(text):
    sys.stderr.write(text + '\n')
    sys.stderr.flush()

def _values(name, kw):
    out = []
    for key in ('input_length', 'output_length', 'response_status', 'status',
                'input_reads', 'output_writes',
                'shutdown_reason', 'signame', 'added'):
        if key in kw:
            out.append('%s=%s' % (key, str(kw[key]).replace(' ', '_')))
    if 'exception_info' in kw and kw['exception_info']:
        out.append('exc=%s' % kw['exception_info'][0].__name__)
    return out

@mod_wsgi.subscribe_events
def first(name, **kw):
    data = kw.get('request_data')
    if name == 'request_started':
        environ = kw['request_environ']
        data['tag'] = environ.get('HTTP_X_TAG', '-')
        data['bad'] = environ.get('HTTP_X_BAD_CALLBACK')
        inflight = kw['request_id'] in mod_wsgi.active_requests
        same = mod_wsgi.request_data() is data
        _line('EVT-CHECK tag=%s inflight=%s same=%s' % (data['tag'], inflight, same))
    tag = data.get('tag', '-') if data is not None else '-'
    types = ' '.join('%s:%s' % (k, type(v).__name__) for k, v in sorted(kw.items()))
    _line(' '.join(['EVT', name, 'tag=%s' % tag] + _values(name, kw) + ['|', types]))
    if data is not None and data.get('bad') and name == 'response_started':
        raise ValueError('callback failure on purpose')
    return {'added': 'by-first-' + name}

@mod_wsgi.subscribe_events
def second(name, **kw):
    data = kw.get('request_data')
    tag = data.get('tag', '-') if data is not None else '-'
    _line('EVT2 %s tag=%s added=%s' % (name, tag, kw.get('added')))

@mod_wsgi.subscribe_shutdown
def stopping(name, **kw):
    _line('SHUTDOWN %s reason=%s' % (name, kw.get('shutdown_reason')))

@mod_wsgi.subscribe_signals
def signalled(name, **kw):
    _line('SIGNAL %s signame=%s signum=%s pid=%d' % (
        name, kw.get('signame'), kw.get('signum'), os.getpid()))

def application(environ, start_response):
    if environ['PATH_INFO'] == '/pid':
        start_response('200 OK', [('Content-Type', 'text/plain')])
        return [str(os.getpid()).encode()]
    if environ['PATH_INFO'] == '/raise':
        raise KeyError('application failure on purpose')
    body = environ['wsgi.input'].read()
    out = b'got %d bytes' % len(body)
    start_response('201 Created', [('Content-Type', 'text/plain')])
    return [out, b'!']
