"""setuptools-rust build of mod-wsgi-rs (configuration in pyproject.toml).

The Apache module (the crate's cdylib) becomes ``mod_wsgi_rs/mod_wsgi<EXT_SUFFIX>``
in site-packages, where ``mod_wsgi-express`` (installed into ``bin/``) finds it,
as mod_wsgi's pip package keeps its module inside the Python package. Both are
built against the Python running this build (``PYO3_PYTHON`` is forced to it,
whatever the environment says), with the ``pip`` cargo profile.
"""

import os
import sys

from setuptools import setup
from setuptools_rust import Binding, RustBin, RustExtension

os.environ["PYO3_PYTHON"] = sys.executable
CARGO_ARGS = ["--profile", "pip"]
# The crate types of Cargo.toml: setuptools-rust would ask for the cdylib alone, and
# building mod_wsgi-express would then compile the library a second time.
LIB_ARGS = CARGO_ARGS + ["--crate-type", "cdylib,rlib"]

setup(
    rust_extensions=[
        RustExtension(
            "mod_wsgi_rs.mod_wsgi",
            path="Cargo.toml",
            binding=Binding.NoBinding,
            args=LIB_ARGS,
        ),
        RustBin("mod_wsgi-express", path="Cargo.toml", args=CARGO_ARGS),
    ],
)
