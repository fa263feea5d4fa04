# Shared helpers for qemu-rt scripts.  Source it; it defines no side effects
# beyond variables.
# shellcheck shell=bash
QRT_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=scripts/qemu-source.env
. "$QRT_TOP/scripts/qemu-source.env"
QRT_CACHE=${QEMU_RT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/qemu-rt}
# Every QEMU tree lives at $QRT_CACHE/build/NAME/{src,build}: with this base
# directory ccache sees the same relative paths in all of them and shares
# objects between the two variants' sibling trees, bisect and dev trees.
export CCACHE_BASEDIR=$QRT_CACHE/build
export CCACHE_NOHASHDIR=1

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

# Configure and build the project (plugin, guests, tools) in _build against
# the patched QEMU builds.  Prints nothing unless it fails.
project_build() {
    local b=$QRT_TOP/_build tcg tci
    tcg=$("$QRT_TOP/scripts/build-qemu" --variant tcg --print-dir)
    tci=$("$QRT_TOP/scripts/build-qemu" --variant tci --print-dir)
    local opts=(-Dqemu_build="$tcg" -Dqemu_tci_build="$tci")
    if [ ! -f "$b/build.ninja" ]; then
        meson setup "$b" "$QRT_TOP" "${opts[@]}" >/dev/null ||
            die "meson setup of $b failed; see $b/meson-logs/meson-log.txt"
    else
        meson configure "$b" "${opts[@]}" >/dev/null
    fi
    ninja -C "$b" >"$b/ninja-project.log" 2>&1 || {
        tail -30 "$b/ninja-project.log" >&2
        die "building the project failed (log: $b/ninja-project.log)"
    }
}
