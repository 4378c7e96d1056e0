#!/usr/bin/env bash
# Installs the system packages the tests use, only if they are missing:
#   gcc, libc6-dev  build the guest test programs (required)
#   musl-tools      musl-gcc, for the musl variants (optional: those tests skip)
#   iproute2        ip, used by networking/migration tests (required)
# It installs only when running as root (never through sudo), and says what it installs;
# as another user it names what is missing. apt-get update runs only when something has
# to be installed. (The test VM's packages are installed by scripts/testvm/testvm itself.)
set -euo pipefail

missing=()
command -v gcc >/dev/null 2>&1 || missing+=(gcc libc6-dev)
command -v ip >/dev/null 2>&1 || missing+=(iproute2)
want_musl=0
command -v musl-gcc >/dev/null 2>&1 || want_musl=1

if ((${#missing[@]} == 0 && want_musl == 0)); then
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-deps: apt-get not found; install these yourself: ${missing[*]} $( ((want_musl)) && echo musl-tools)" >&2
    ((${#missing[@]} == 0)) && exit 0
    exit 1
fi

if ((EUID != 0)); then
    echo "install-deps: not root, so not installing; as root: apt-get install ${missing[*]} $( ((want_musl)) && echo musl-tools)" >&2
    ((${#missing[@]} == 0)) && exit 0
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive

if ! apt-get update -q >/dev/null; then
    echo "install-deps: warning: apt-get update failed; trying to install anyway" >&2
fi
if ((${#missing[@]} > 0)); then
    echo "install-deps: installing ${missing[*]}" >&2
    apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
fi
if ((want_musl)); then
    echo "install-deps: installing musl-tools" >&2
    if ! apt-get install -y -q --no-install-recommends musl-tools >/dev/null; then
        echo "install-deps: warning: musl-tools could not be installed; musl tests will be skipped" >&2
    fi
fi
