# mod_wsgi.LogHandler probe (tests/events.rs): one record per level through
# a logger with the handler; the line numbers below are checked (%F).
import logging
import mod_wsgi

log = logging.getLogger('probe')
log.setLevel(logging.DEBUG)
log.propagate = False
log.addHandler(mod_wsgi.LogHandler())

def application(environ, start_response):
    tag = environ.get('HTTP_X_TAG', '-')
    log.critical('LH-critical %s', tag)
    log.error('LH-error %s', tag)
    log.warning('LH-warning %s', tag)
    log.info('LH-info %s', tag)
    log.debug('LH-debug %s\nLH-second-line %s', tag, tag)
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return [b'ok']
