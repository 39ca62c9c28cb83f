# A `mod_wsgi` package whose import fails: the error is logged and the
# interpreter still gets our module.
raise RuntimeError("this mod_wsgi package is broken on purpose")
