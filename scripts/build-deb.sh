#!/usr/bin/env bash
# Builds the Debian package libapache2-mod-wsgi-rs with dpkg-deb from a release
# build (cargo build --release, incremental: an up-to-date build is reused) and
# prints the .deb's path on its last line. The package holds the module as
# /usr/lib/apache2/modules/mod_wsgi_rs.so, mods-available/wsgi_rs.load (with
# a2enmod's "# Conflicts: wsgi"), mod_wsgi-express in /usr/bin with its manual
# page, the docs, and maintainer scripts using apache2-maintscript-helper
# (packaging/debian/). Dependencies come from dpkg-shlibdeps plus Apache's
# module ABI (apache2-api-*) and the Python minor version the module embeds.
#   OUT_DIR=dir   where the .deb goes (default target/debian)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
export PYO3_PYTHON="${PYO3_PYTHON:-/usr/bin/python3}"
if [ "$PYO3_PYTHON" != /usr/bin/python3 ]; then
  echo "build-deb.sh: the package must embed the system Python (PYO3_PYTHON=/usr/bin/python3)" >&2
  exit 1
fi
for tool in dpkg-deb dpkg-shlibdeps strip; do
  command -v "$tool" >/dev/null || { echo "build-deb.sh: $tool is missing (apt-get install dpkg-dev binutils)" >&2; exit 1; }
done

cargo build --release >&2

pkg=libapache2-mod-wsgi-rs
src=packaging/debian
crate_version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -1)
version=$(sed -n '1s/^[^(]*(\([^)]*\)).*/\1/p' "$src/changelog")
if [ "${version%-*}" != "$crate_version" ]; then
  echo "build-deb.sh: $src/changelog is at $version, Cargo.toml at $crate_version" >&2
  exit 1
fi
arch=$(dpkg --print-architecture)
out_dir="${OUT_DIR:-$root/target/debian}"
stage_dir="$out_dir/$pkg"
rm -rf "$stage_dir"
mkdir -p "$stage_dir/DEBIAN" "$out_dir"
cd "$stage_dir"

install -d usr/lib/apache2/modules etc/apache2/mods-available usr/bin \
  usr/share/man/man1 "usr/share/doc/$pkg"
# As dh_strip: no debug sections, .comment or .note in the shipped objects.
strip --strip-unneeded --remove-section=.comment --remove-section=.note \
  -o usr/lib/apache2/modules/mod_wsgi_rs.so "$root/target/release/libmod_wsgi.so"
strip --remove-section=.comment --remove-section=.note \
  -o usr/bin/mod_wsgi-express "$root/target/release/mod_wsgi-express"
chmod 0644 usr/lib/apache2/modules/mod_wsgi_rs.so
chmod 0755 usr/bin/mod_wsgi-express
install -m 0644 "$root/$src/wsgi_rs.load" etc/apache2/mods-available/
gzip -9n -c "$root/$src/mod_wsgi-express.1" > usr/share/man/man1/mod_wsgi-express.1.gz
doc="usr/share/doc/$pkg"
install -m 0644 "$root/$src/copyright" "$doc/copyright"
gzip -9n -c "$root/$src/changelog" > "$doc/changelog.Debian.gz"
gzip -9n -c "$root/README.md" > "$doc/README.md.gz"
(cd "$root" && find docs -type f -name '*.md') | while read -r f; do
  install -d "$doc/$(dirname "$f")"
  gzip -9n -c "$root/$f" > "$doc/$f.gz"
done
find . -type d -exec chmod 0755 {} +
find usr/share etc -type f -exec chmod 0644 {} +

# Shared-library dependencies of both objects (dpkg-shlibdeps wants a
# debian/control beside it), then the Apache module ABI and the Python minor.
shlib_dir=$(mktemp -d)
trap 'rm -rf "$shlib_dir"' EXIT
mkdir "$shlib_dir/debian"
printf 'Source: mod-wsgi-rs\n\nPackage: %s\nArchitecture: any\n' "$pkg" > "$shlib_dir/debian/control"
shlibs=$(cd "$shlib_dir" && dpkg-shlibdeps -O \
  "$stage_dir/usr/lib/apache2/modules/mod_wsgi_rs.so" "$stage_dir/usr/bin/mod_wsgi-express" \
  | sed -n 's/^shlibs:Depends=//p')
api=$(dpkg-query -W -f='${Provides}' apache2-bin | tr ',' '\n' | grep -o 'apache2-api-[0-9]*' | head -1)
[ -n "$api" ] || { echo "build-deb.sh: apache2-bin provides no apache2-api-*" >&2; exit 1; }
py=$("$PYO3_PYTHON" -c 'import sys; print("%d.%d %d.%d" % (sys.version_info[:2] + (sys.version_info[0], sys.version_info[1] + 1)))')
depends="$api, apache2-bin (>= 2.4.16), python3 (>= ${py% *}), python3 (<< ${py#* }), $shlibs"

cd "$stage_dir"
find etc usr -type f -print0 | sort -z | xargs -0 md5sum > DEBIAN/md5sums
find etc -type f | sed 's,^,/,' > DEBIAN/conffiles
for script in postinst prerm postrm; do
  install -m 0755 "$root/$src/$script" "DEBIAN/$script"
done
chmod 0644 DEBIAN/md5sums DEBIAN/conffiles
size=$(du -sk --exclude=DEBIAN . | cut -f1)
cat > DEBIAN/control <<EOF
Package: $pkg
Source: mod-wsgi-rs
Version: $version
Architecture: $arch
Maintainer: mod_wsgi-rs maintainers <maintainers@users.noreply.r-seed-c0f59a5f.example>
Installed-Size: $size
Depends: $depends
Section: httpd
Priority: optional
Description: Python WSGI adapter module for Apache, written in Rust
 mod_wsgi-rs hosts Python WSGI applications in Apache httpd as a drop-in
 replacement for mod_wsgi 6: the same LoadModule wsgi_module, directives,
 WSGI environ and mod_wsgi Python module, in embedded or daemon mode.
 .
 This package installs the module as "wsgi_rs" (a2enmod wsgi_rs), which
 conflicts with Debian's "wsgi" module (libapache2-mod-wsgi-py3): both
 packages can be installed, one module enabled. It also ships
 mod_wsgi-express, which runs an application under Apache in one command.
EOF
cd "$out_dir"
deb="$out_dir/${pkg}_${version}_${arch}.deb"
dpkg-deb --root-owner-group -Zxz --build "$stage_dir" "$deb" >&2
echo "$deb"
