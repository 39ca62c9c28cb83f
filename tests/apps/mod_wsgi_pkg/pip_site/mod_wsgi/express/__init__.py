# mod_wsgi.express, as pip's mod_wsgi installs it.
