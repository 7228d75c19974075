#!/bin/sh
# Builds the Debian packages `nightjar` and `nightjar-sandbox` from a release build (`make deb`).
#
#   scripts/build-deb.sh [OUT] [BIN]
#
# OUT (default .build/deb) receives nightjar_VERSION_ARCH.deb and nightjar-sandbox_VERSION_ARCH.deb;
# BIN (default .build/release) holds the built programs, linked with the Swift standard library and
# Foundation statically. Each package holds what `make install PREFIX=/usr` installs of it, with
# the Debian copyright file and changelog; Depends comes from dpkg-shlibdeps.
set -eu

out=${1:-.build/deb}
bin=${2:-.build/release}
here=$(cd "$(dirname "$0")/.." && pwd)
packaging="$here/packaging/debian"

upstream=$("$bin/nightjar" --version | sed 's/^nightjar //')
version="$upstream-1"
arch=$(dpkg --print-architecture)
maintainer="Nightjar maintainers <maintainers@users.noreply.h-seed-9ca410dd.example>"

rm -rf "$out/root" "$out/shlibs"
mkdir -p "$out"
rm -f "$out"/*.deb
out=$(cd "$out" && pwd)
stage="$out/root/nightjar"
sandbox="$out/root/nightjar-sandbox"

# Everything `make install` installs, under /usr; then nightjar-sandbox moves to its own package.
make --no-print-directory -C "$here" install DESTDIR="$stage" PREFIX=/usr BIN="$(cd "$bin" && pwd)" >/dev/null
install -d "$sandbox/usr/bin" "$sandbox/usr/share/man/man1"
mv "$stage/usr/bin/nightjar-sandbox" "$sandbox/usr/bin/"
mv "$stage/usr/share/man/man1/nightjar-sandbox.1" "$sandbox/usr/share/man/man1/"

for root in "$stage" "$sandbox"; do
  package=$(basename "$root")
  # Debian policy: binaries stripped, man pages and changelog compressed with gzip -9n, owner root.
  strip --strip-unneeded --remove-section=.comment --remove-section=.note "$root"/usr/bin/*
  gzip -9n "$root"/usr/share/man/man1/*.1
  install -d "$root/usr/share/doc/$package" "$root/DEBIAN"
  install -m 0644 "$packaging/copyright" "$root/usr/share/doc/$package/copyright"
  sed "s/PACKAGE/$package/; s/VERSION/$version/" "$packaging/changelog" | gzip -9n > "$root/usr/share/doc/$package/changelog.Debian.gz"
  chmod 0644 "$root/usr/share/doc/$package/changelog.Debian.gz"
  if [ -f "$packaging/$package.lintian-overrides" ]; then
    install -d "$root/usr/share/lintian/overrides"
    install -m 0644 "$packaging/$package.lintian-overrides" "$root/usr/share/lintian/overrides/$package"
  fi
  find "$root" -type d -exec chmod 0755 {} +

  # dpkg-shlibdeps reads debian/control; a minimal one in a scratch folder is enough.
  scratch="$out/shlibs/$package"
  mkdir -p "$scratch/debian"
  printf 'Source: nightjar\n\nPackage: %s\nArchitecture: any\n' "$package" > "$scratch/debian/control"
  depends=$(cd "$scratch" && dpkg-shlibdeps -O "$root"/usr/bin/* | sed -n 's/^shlibs:Depends=//p')

  case $package in
    nightjar)
      section=utils
      recommends="Recommends: tzdata
Suggests: nightjar-sandbox
"
      summary="overnight portal automation for accounts receivable"
      description=" Nightjar logs in to supplier portals at night with credentials from an
 encrypted vault, downloads remittance advice, imports it (X12 820, CSV and
 Excel by profile) into batches matched against open invoices, and leaves a
 morning report to review, approve and export to the general ledger."
      ;;
    nightjar-sandbox)
      section=devel
      recommends=""
      summary="fake supplier portals on loopback for the Nightjar demo"
      description=" Three fake supplier portals over real HTTP(S) on 127.0.0.1 (an HTML portal
 with a form login, a JSON API, a password-then-TOTP portal), used by
 \`nightjar demo\` and by tests. Not for production machines."
      ;;
  esac
  size=$(du -k -s --exclude=DEBIAN "$root" | cut -f1)
  cat > "$root/DEBIAN/control" <<EOF
Package: $package
Version: $version
Architecture: $arch
Maintainer: $maintainer
Installed-Size: $size
Depends: $depends
${recommends}Section: $section
Priority: optional
Description: $summary
$description
EOF
  (cd "$root" && find usr -type f -print0 | sort -z | xargs -0 md5sum) > "$root/DEBIAN/md5sums"
  chmod 0644 "$root/DEBIAN/control" "$root/DEBIAN/md5sums"
  dpkg-deb --build --root-owner-group -Zgzip "$root" "$out/${package}_${version}_${arch}.deb" >/dev/null
  echo "$out/${package}_${version}_${arch}.deb"
done
