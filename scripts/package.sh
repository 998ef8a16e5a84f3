#!/usr/bin/env bash
# Builds the Debian package from the tree: the release build of the tributary binary,
# stripped, with the systemd unit, the default config (a conffile), the manual page,
# the Grafana dashboard and the maintainer scripts from packaging/.
#
#   scripts/package.sh [OUTDIR]       # builds the release preset, then the .deb
#   TRIBUTARY_BINARY=PATH scripts/package.sh [OUTDIR]   # packages PATH instead (no build)
#
# OUTDIR defaults to build/package. Prints the path of the .deb. The version is the
# project's (CMakeLists.txt) plus TRIBUTARY_DEB_REVISION (default 1); packaging/deb/changelog
# must have an entry for it. Needs dpkg-dev (dpkg-shlibdeps) and binutils (strip).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PKG="$ROOT/packaging"
OUTDIR="$(realpath -m "${1:-$ROOT/build/package}")"
[ -z "${TRIBUTARY_BINARY:-}" ] || TRIBUTARY_BINARY="$(realpath -m "$TRIBUTARY_BINARY")"
cd "$ROOT"

die() { printf '[package] error: %s\n' "$*" >&2; exit 1; }
log() { printf '[package] %s\n' "$*" >&2; }

for tool in dpkg-deb dpkg-shlibdeps strip gzip; do
  command -v "$tool" >/dev/null || die "$tool not found (apt-get install dpkg-dev binutils)"
done

VERSION=$(sed -n 's/^project(tributary VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)
[ -n "$VERSION" ] || die "no project VERSION in CMakeLists.txt"
DEB_VERSION="$VERSION-${TRIBUTARY_DEB_REVISION:-1}"
changelog_version=$(sed -n '1s/^tributary (\([^)]*\)).*/\1/p' "$PKG/deb/changelog")
[ "$changelog_version" = "$DEB_VERSION" ] ||
  die "packaging/deb/changelog starts with $changelog_version, not $DEB_VERSION: add an entry"

if [ -z "${TRIBUTARY_BINARY:-}" ]; then
  log "building the release preset"
  cmake --preset release > /dev/null
  cmake --build --preset release --target tributary
  TRIBUTARY_BINARY="$ROOT/build/release/app/tributary"
fi
[ -x "$TRIBUTARY_BINARY" ] || die "$TRIBUTARY_BINARY is not an executable"
binary_version=$("$TRIBUTARY_BINARY" version)
[ "$binary_version" = "tributary $VERSION" ] ||
  die "$TRIBUTARY_BINARY says '$binary_version', the project is $VERSION: rebuild it"

ARCH=$(dpkg --print-architecture)
NAME="tributary_${DEB_VERSION}_${ARCH}"
mkdir -p "$ROOT/build"
WORK=$(mktemp -d "$ROOT/build/package-work.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
STAGE="$WORK/$NAME"
# Reproducible: every timestamp is the changelog entry's date.
SOURCE_DATE_EPOCH=$(date -d "$(sed -n 's/^ -- .*>  \(.*\)$/\1/p' "$PKG/deb/changelog" | head -1)" +%s)
export SOURCE_DATE_EPOCH

umask 022
mkdir -p "$STAGE/DEBIAN" "$OUTDIR"

# Files, with the paths and modes they have on the target.
install -D -m 0755 "$TRIBUTARY_BINARY" "$STAGE/usr/bin/tributary"
strip --remove-section=.comment --remove-section=.note "$STAGE/usr/bin/tributary"
install -D -m 0644 "$PKG/tributary.service" "$STAGE/lib/systemd/system/tributary.service"
# The template for more processes (tributary@NAME: /etc/tributary/NAME.yaml, state in
# /var/lib/tributary/NAME, runtime directory /run/tributary/NAME): the same unit, sandbox
# and all, with five lines changed (one is the comment that says where the ring lives).
sed -e 's|^Description=Tributary edge intake |Description=Tributary edge intake %i |' \
    -e 's|^# ring lives in /var/lib/tributary/buffer\. |# ring lives in /var/lib/tributary/NAME/buffer (buffer.dir in NAME.yaml). |' \
    -e 's|^ExecStart=/usr/bin/tributary run -c /etc/tributary/tributary.yaml$|ExecStart=/usr/bin/tributary run -c /etc/tributary/%i.yaml|' \
    -e 's|^StateDirectory=tributary$|StateDirectory=tributary/%i|' \
    -e 's|^RuntimeDirectory=tributary$|RuntimeDirectory=tributary/%i|' \
    "$PKG/tributary.service" > "$WORK/tributary@.service"
[ "$(diff "$PKG/tributary.service" "$WORK/tributary@.service" | grep -c '^>')" -eq 5 ] ||
  die "tributary@.service: the unit's Description=, ExecStart=, StateDirectory=, RuntimeDirectory= line or the ring's comment changed; update package.sh"
install -D -m 0644 "$WORK/tributary@.service" "$STAGE/lib/systemd/system/tributary@.service"
install -D -m 0644 "$PKG/tributary.yaml" "$STAGE/etc/tributary/tributary.yaml"
install -D -m 0644 "$PKG/grafana-dashboard.json" "$STAGE/usr/share/tributary/grafana-dashboard.json"
install -D -m 0644 "$PKG/tributary.1" "$STAGE/usr/share/man/man1/tributary.1"
gzip -9n "$STAGE/usr/share/man/man1/tributary.1"
doc="$STAGE/usr/share/doc/tributary"
install -D -m 0644 "$PKG/deb/copyright" "$doc/copyright"
install -m 0644 "$PKG/README.md" "$doc/README.md"
install -m 0644 docs/config-reference.md "$doc/config-reference.md"
gzip -9n -c "$PKG/deb/changelog" > "$doc/changelog.Debian.gz"
chmod 0644 "$doc/changelog.Debian.gz"
install -D -m 0644 "$PKG/deb/lintian-overrides" "$STAGE/usr/share/lintian/overrides/tributary"

# Control area.
install -m 0755 "$PKG/deb/postinst" "$PKG/deb/prerm" "$PKG/deb/postrm" "$STAGE/DEBIAN/"
echo /etc/tributary/tributary.yaml > "$STAGE/DEBIAN/conffiles"
# dpkg-shlibdeps wants to run in a source tree: give it a minimal one.
mkdir -p "$WORK/src/debian"
printf 'Source: tributary\n\nPackage: tributary\nArchitecture: any\n' > "$WORK/src/debian/control"
shlibs=$(cd "$WORK/src" && dpkg-shlibdeps -O "$STAGE/usr/bin/tributary" 2>"$WORK/shlibdeps.log") ||
  { cat "$WORK/shlibdeps.log" >&2; die "dpkg-shlibdeps failed"; }
depends="adduser, ${shlibs#shlibs:Depends=}"
installed_size=$(du -sk --exclude=DEBIAN "$STAGE" | cut -f1)
sed -e "s/@VERSION@/$DEB_VERSION/" -e "s/@ARCH@/$ARCH/" -e "s/@INSTALLED_SIZE@/$installed_size/" \
  -e "s/@DEPENDS@/$depends/" "$PKG/deb/control.in" > "$STAGE/DEBIAN/control"
(cd "$STAGE" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | LC_ALL=C sort -z |
  xargs -0 md5sum) > "$STAGE/DEBIAN/md5sums"
chmod 0644 "$STAGE/DEBIAN/control" "$STAGE/DEBIAN/conffiles" "$STAGE/DEBIAN/md5sums"
find "$STAGE" -depth -newermt "@$SOURCE_DATE_EPOCH" -exec touch --no-dereference -d "@$SOURCE_DATE_EPOCH" {} +

dpkg-deb --root-owner-group -Zxz --build "$STAGE" "$OUTDIR/$NAME.deb" >&2
log "built $OUTDIR/$NAME.deb ($(du -h "$OUTDIR/$NAME.deb" | cut -f1), Depends: $depends)"
echo "$OUTDIR/$NAME.deb"
