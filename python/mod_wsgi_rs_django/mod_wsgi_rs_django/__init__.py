"""Django integration of mod_wsgi-rs's ``mod_wsgi-express``.

Add ``"mod_wsgi_rs_django"`` to ``INSTALLED_APPS`` to get the ``runmodwsgi`` management
command (``mod_wsgi.express`` in mod_wsgi 6; a different name here because ``mod_wsgi``
is the module's built-in module inside Apache).
"""
