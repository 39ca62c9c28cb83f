# What the handler.wsgi of a server root written by pip's mod_wsgi-express imports.


class ApplicationHandler:
    pass
