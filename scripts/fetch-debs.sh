#!/usr/bin/env bash
# Unpacks Debian packages for the tests that run real programs, without installing them:
#   scripts/fetch-debs.sh DEST PACKAGE...
# Each package is fetched with `apt-get download` (no root needed) and unpacked with
# `dpkg-deb -x` into DEST/root; DEST/PACKAGE.ok marks one that is done, so a second run does
# nothing. Nothing is installed system-wide. When a package cannot be had (no apt-get, the
# registry unreachable, an unknown name) the reason goes to DEST/PACKAGE.missing and stderr,
# and the script exits 1: the tests that need it skip with that reason.
set -uo pipefail

dest=${1:?usage: fetch-debs.sh DEST PACKAGE...}
shift
mkdir -p "$dest/root" "$dest/debs"
status=0
for pkg in "$@"; do
    [[ -e "$dest/$pkg.ok" ]] && continue
    rm -f "$dest/$pkg.missing"
    if ! command -v apt-get >/dev/null 2>&1 || ! command -v dpkg-deb >/dev/null 2>&1; then
        echo "apt-get or dpkg-deb not found" >"$dest/$pkg.missing"
    elif ! (cd "$dest/debs" && apt-get download -q "$pkg" >"../$pkg.log" 2>&1); then
        # The package lists may be missing (a fresh container): refresh them once if we may.
        if ((EUID == 0)) && [[ ! -e "$dest/.updated" ]] && apt-get update -q >/dev/null 2>&1; then
            touch "$dest/.updated"
        fi
        if ! (cd "$dest/debs" && apt-get download -q "$pkg" >"../$pkg.log" 2>&1); then
            echo "apt-get download $pkg failed: $(grep -E '^(E|Err):' "$dest/$pkg.log" | head -1)" >"$dest/$pkg.missing"
        fi
    fi
    if [[ ! -e "$dest/$pkg.missing" ]]; then
        deb=$(ls -t "$dest/debs/${pkg}"_*.deb 2>/dev/null | head -1)
        if [[ -z "$deb" ]] || ! dpkg-deb -x "$deb" "$dest/root" 2>"$dest/$pkg.log"; then
            echo "could not unpack ${deb:-the downloaded package}" >"$dest/$pkg.missing"
        else
            basename "$deb" >"$dest/$pkg.ok"
        fi
    fi
    if [[ -e "$dest/$pkg.missing" ]]; then
        echo "fetch-debs: $pkg: $(cat "$dest/$pkg.missing")" >&2
        status=1
    fi
done
exit $status
