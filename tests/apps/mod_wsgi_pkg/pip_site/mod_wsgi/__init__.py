# The top of pip's mod_wsgi package: other portions of the namespace found on
# sys.path are added to __path__.
from pkgutil import extend_path

__path__ = extend_path(__path__, __name__)
