#!/usr/bin/env bash
# Builds the module for a second Python (default 3.12, from pyenv) without
# touching the system-Python build in target/debug:
#   1. copies pyenv's Python X.Y to a prefix Apache's user can read
#      (MOD_WSGI_VARIANT_PREFIX, default /var/tmp/mod_wsgi-rs/pythonX.Y);
#      a prefix that already holds that Python is used as it is;
#   2. writes a pyo3 config file (PYO3_CONFIG_FILE) naming the copy, since the
#      copy's sysconfig still names the pyenv prefix it was built for;
#   3. builds the module into target/pyXY (CARGO_TARGET_DIR); build.rs gives
#      it an rpath to <prefix>/lib and bakes <prefix> in as the Python home.
# With --test it then runs tests/python_variant.rs and the application-group
# and sub-interpreter test files (wsgi_groups, interpreter_options,
# compat_directives, per_interpreter_gil, daemon_shutdown) against that module (MOD_WSGI_SO), skipping by name, with
# the reason printed, the tests this Python cannot pass.
#
# Usage: scripts/python-variant.sh [--test] [X.Y]
# Environment: MOD_WSGI_VARIANT_SOURCE (the Python to copy, default the
# newest $PYENV_ROOT/versions/X.Y.*), MOD_WSGI_VARIANT_PREFIX (see above),
# MOD_WSGI_VARIANT_TARGET_DIR (default target/pyXY, relative to the repo),
# MOD_WSGI_PROFILE=release for a release build (default debug, as setup.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
# The Python of the usual build (target/debug), which the test binaries use.
main_python=${PYO3_PYTHON:-/usr/bin/python3}

run_tests=0
if [ "${1:-}" = --test ]; then
  run_tests=1
  shift
fi
version=${1:-3.12}
case $version in
  3.[0-9]*) ;;
  *) echo "python-variant.sh: expected a Python version like 3.12, got '$version'" >&2; exit 2 ;;
esac
prefix=${MOD_WSGI_VARIANT_PREFIX:-/var/tmp/mod_wsgi-rs/python$version}
target_dir=${MOD_WSGI_VARIANT_TARGET_DIR:-target/py${version/./}}
python=$prefix/bin/python$version

# A prefix counts as done when its interpreter, stdlib and shared libpython
# are all there (a copy is made beside it and renamed, so a half-finished
# copy never has this name).
complete() {
  [ -x "$1/bin/python$version" ] && [ -f "$1/lib/python$version/os.py" ] &&
    [ -e "$1/lib/libpython$version.so" ]
}

if complete "$prefix"; then
  echo "python-variant: using the Python $version at $prefix"
else
  source=${MOD_WSGI_VARIANT_SOURCE:-}
  if [ -z "$source" ]; then
    pyenv_root=${PYENV_ROOT:-$HOME/.pyenv}
    source=$(ls -d "$pyenv_root/versions/$version".* 2>/dev/null | sort -V | tail -n 1 || true)
  fi
  if [ -z "$source" ] || [ ! -x "$source/bin/python$version" ]; then
    echo "python-variant: no Python $version to copy (looked for ${source:-\$PYENV_ROOT/versions/$version.*});" \
      "set MOD_WSGI_VARIANT_SOURCE to a Python $version installation prefix" >&2
    exit 1
  fi
  if [ ! -e "$source/lib/libpython$version.so" ]; then
    # The module is a shared object loaded by Apache: it needs libpython as
    # a shared library (a static one is not built position-independent, and
    # extension modules would not find its symbols).
    echo "python-variant: $source has no lib/libpython$version.so (a static build);" \
      "reinstall it shared: PYTHON_CONFIGURE_OPTS=--enable-shared pyenv install --force ${source##*/}" >&2
    exit 1
  fi
  if [ -e "$prefix" ]; then
    echo "python-variant: $prefix exists but is not a complete Python $version; remove it or set MOD_WSGI_VARIANT_PREFIX" >&2
    exit 1
  fi
  echo "python-variant: copying $source to $prefix"
  mkdir -p "$(dirname "$prefix")"
  tmp=$(mktemp -d "$prefix.tmp.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  cp -a "$source/." "$tmp/"
  # Apache's children (www-data) read the stdlib and map libpython.
  chmod -R a+rX "$tmp"
  mv "$tmp" "$prefix"
  trap - EXIT
fi

# The copy's executable has an rpath to the original prefix: make it load
# the copy's libpython (also when the original is gone).
export LD_LIBRARY_PATH=$prefix/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
# Everything pyo3 would otherwise read from the interpreter's sysconfig, with
# the copy's paths.
config=$(
  "$python" - "$prefix" <<'EOF'
import sys, sysconfig
prefix = sys.argv[1]
var = sysconfig.get_config_var
ldlibrary = var("LDLIBRARY")  # libpython3.12.so (libpython3.13t.so, ...)
flags = [f for f in ("Py_DEBUG", "Py_REF_DEBUG", "Py_TRACE_REFS", "COUNT_ALLOCS", "Py_GIL_DISABLED")
         if var(f) or (f == "Py_REF_DEBUG" and var("Py_DEBUG"))]
print("implementation=CPython")
print("version=%d.%d" % sys.version_info[:2])
print("shared=%s" % ("true" if var("Py_ENABLE_SHARED") else "false"))
print("lib_name=%s" % ldlibrary[len("lib"):ldlibrary.index(".so")])
print("lib_dir=%s/lib" % prefix)
print("executable=%s/bin/python%d.%d" % ((prefix,) + sys.version_info[:2]))
print("pointer_width=%d" % (8 * var("SIZEOF_VOID_P")))
print("build_flags=%s" % ",".join(flags))
print("suppress_build_script_link_lines=false")
EOF
)
mkdir -p "$target_dir"
config_file=$(realpath "$target_dir")/pyo3-config.txt
# Rewritten only when it changes: build.rs reruns when its mtime moves.
if [ "$(cat "$config_file" 2>/dev/null)" != "$config" ]; then
  printf '%s\n' "$config" >"$config_file"
fi

profile=${MOD_WSGI_PROFILE:-debug}
release=()
[ "$profile" = release ] && release=(--release)
echo "python-variant: building the module for Python $version into $target_dir ($profile)"
PYO3_CONFIG_FILE=$config_file CARGO_TARGET_DIR=$target_dir \
  cargo build --lib "${release[@]}"
module=$(realpath "$target_dir")/$profile/libmod_wsgi.so
echo "python-variant: built $module"
echo "python-variant: run tests against it with" \
  "MOD_WSGI_SO=$module MOD_WSGI_EXPECT_PYTHON=$version cargo test --test NAME"

if [ "$run_tests" = 1 ]; then
  # Tests known to fail against this Python that this script cannot fix,
  # each skipped by name with the reason printed.
  skips=()
  skip() {
    echo "python-variant: skipping $1: $2"
    skips+=(--skip "$1")
  }
  # The test binaries are the usual ones (built for the system Python, in
  # target/): only the module they load into Apache changes.
  unset LD_LIBRARY_PATH
  PYO3_PYTHON=$main_python MOD_WSGI_SO=$module MOD_WSGI_EXPECT_PYTHON=$version MOD_WSGI_EXPECT_PYTHON_PREFIX=$prefix \
    cargo test --no-fail-fast --test python_variant --test wsgi_groups --test interpreter_options \
    --test compat_directives --test per_interpreter_gil --test daemon_shutdown \
    -- --test-threads="${TEST_THREADS:-2}" "${skips[@]}"
fi
