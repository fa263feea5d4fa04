# Shared helpers for qemu-rt scripts.  Source it; it defines no side effects
# beyond variables.
# shellcheck shell=bash
QRT_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=scripts/qemu-source.env
. "$QRT_TOP/scripts/qemu-source.env"
QRT_CACHE=${QEMU_RT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/qemu-rt}

die() {
    echo "$QRT_PROG: $*" >&2
    exit 1
}

say() {
    echo "$QRT_PROG: $*" >&2
}

sha256_of() {
    sha256sum "$1" | cut -d' ' -f1
}

# The patches of the series, in order, as absolute paths.
series_patches() {
    local p
    while read -r p; do
        case "$p" in ''|'#'*) continue ;; esac
        echo "$QRT_TOP/patches/$p"
    done <"$QRT_TOP/patches/series"
}

# A checksum of the series file and every patch it lists.
series_hash() {
    local p
    {
        cat "$QRT_TOP/patches/series"
        for p in $(series_patches); do
            [ -f "$p" ] || die "patches/series lists $(basename "$p"), which does not exist; fix patches/series"
            cat "$p"
        done
    } | sha256sum | cut -c1-16
}
