# Shared helpers for qemu-rt scripts.  Source it; it defines no side effects
# beyond variables.
# shellcheck shell=bash
QRT_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=scripts/pipeline/qemu-source.env
. "$QRT_TOP/scripts/pipeline/qemu-source.env"
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

# A checksum of the series file and every patch it lists, and of the
# further patches given as arguments.
series_hash() {
    local p
    {
        cat "$QRT_TOP/patches/series"
        for p in $(series_patches); do
            [ -f "$p" ] || die "patches/series lists $(basename "$p"), which does not exist; fix patches/series"
            cat "$p"
        done
        for p in "$@"; do
            cat "$p"
        done
    } | sha256sum | cut -c1-16
}

# QEMU source trees in the cache (scripts/pipeline/build-qemu,
# scripts/bench/fuzz-pio-batch).

# Source identity: the checksum of the tarball, or of a tree's git HEAD/path.
src_id() {
    local s=$1
    if [ -f "$s" ]; then
        if [ "$(basename "$s")" = "$QEMU_ORIG_TARBALL" ]; then
            echo "$QEMU_ORIG_SHA256"
        else
            sha256_of "$s"
        fi
    elif git -C "$s" rev-parse HEAD >/dev/null 2>&1 &&
         [ -z "$(git -C "$s" status --porcelain --untracked-files=no)" ]; then
        git -C "$s" rev-parse HEAD
    else
        # Not a clean git checkout: key by every file's name, size and mtime,
        # so an edit anywhere in the tree gives a fresh build tree.
        (cd "$s" && find . -path ./build -prune -o -type f \
            -printf '%P %s %T@\n' | LC_ALL=C sort) | sha256sum | cut -d' ' -f1
    fi
}

# The build recipe's own fixes for Debian's +ds tarball, which has no
# firmware blobs.  They stay here, outside the upstream series.
recipe_fixups() {
    local t=$1
    if [ ! -e "$t/pc-bios/edk2-x86_64-code.fd.bz2" ]; then
        grep -q '^if unpack_edk2_blobs$' "$t/pc-bios/meson.build" ||
            die "cannot find the edk2 unpack step in pc-bios/meson.build to disable it"
        sed -i 's/^if unpack_edk2_blobs$/if unpack_edk2_blobs and false/' \
            "$t/pc-bios/meson.build"
    fi
    if ! ls "$t"/pc-bios/dtb/*.dtb >/dev/null 2>&1; then
        grep -q "^subdir('dtb')$" "$t/pc-bios/meson.build" ||
            die "cannot find subdir('dtb') in pc-bios/meson.build to disable it"
        sed -i "s/^subdir('dtb')$/# dtb blobs are absent from +ds tarballs/" \
            "$t/pc-bios/meson.build"
    fi
}

# Apply the series, then any further patches given, on top of the recipe
# commit of the tree at $1; name the patch that fails.
apply_series() {
    local t=$1 p
    shift
    git -C "$t" am --abort >/dev/null 2>&1 || true
    git -C "$t" reset -q --hard qemu-rt-base
    for p in $(series_patches) "$@"; do
        [ -f "$p" ] || die "patches/series lists $(basename "$p"), which does not exist; fix patches/series"
        if ! git -C "$t" am -q --3way "$p" >"$t/../am.log" 2>&1; then
            git -C "$t" am --abort >/dev/null 2>&1 || true
            git -C "$t" reset -q --hard qemu-rt-base
            cat "$t/../am.log" >&2
            die "patch $(basename "$p") does not apply to QEMU $QEMU_VERSION; refresh it against the tree in $t"
        fi
    done
}

# Unpack the QEMU source $2 into $1/src once, as a git repository whose
# tags qemu-rt-pristine and qemu-rt-base mark the tree before and after the
# build recipe's fixes.
prepare_tree() {
    local dir=$1 src=$2 t=$1/src
    if [ ! -f "$dir/unpacked" ]; then
        rm -rf "$dir"
        mkdir -p "$t"
        say "unpacking $src"
        if [ -d "$src" ]; then
            (cd "$src" && git ls-files >/dev/null 2>&1 &&
                git archive --format=tar HEAD || tar cf - --exclude=./build .) |
                tar xf - -C "$t"
        else
            tar xf "$src" -C "$t" --strip-components=1 ||
                die "cannot unpack $src; is it a QEMU source tarball?"
        fi
        [ -f "$t/system/vl.c" ] || die "$src does not contain a QEMU source tree"
        (
            cd "$t"
            git init -q
            git config user.name "qemu-rt build"
            git config user.email "qemu-rt@localhost"
            git config core.autocrlf false
            git add -A -f . && git commit -q -m "QEMU $(cat VERSION) pristine" &&
                git tag qemu-rt-pristine
            recipe_fixups "$t"
            git commit -q -a --allow-empty \
                -m "qemu-rt build recipe: build without firmware blobs" &&
                git tag qemu-rt-base
        )
        touch "$dir/unpacked"
    fi
}

# The configure flags of variant $1, from qemu-source.env: tcg, tci, or
# the fuzzing builds of scripts/bench/fuzz-pio-batch, fuzz and
# fuzz-coverage (whose C flags are QEMU_FUZZ_CFLAGS and
# QEMU_FUZZ_COVERAGE_CFLAGS).
qemu_flags() {
    case "$1" in
        tcg) echo "$QEMU_CONFIGURE_FLAGS" ;;
        tci) echo "$QEMU_CONFIGURE_FLAGS $QEMU_TCI_FLAGS" ;;
        fuzz) echo "$QEMU_CONFIGURE_FLAGS $QEMU_FUZZ_FLAGS" ;;
        fuzz-coverage) echo "$QEMU_CONFIGURE_FLAGS $QEMU_FUZZ_COVERAGE_FLAGS" ;;
        *) die "qemu_flags: unknown variant '$1'; use tcg, tci, fuzz or fuzz-coverage" ;;
    esac
}

# configure_qemu [--build NAME] [--cc CC --cxx CXX] DIR PKGVERSION FLAGS
#                [ARG...]
# QEMU's configure line, written only here.  Configures DIR/NAME (default
# DIR/build) from DIR/src with FLAGS (one string, split at spaces as
# qemu-source.env writes them), then each ARG as one argument, so that
# --extra-cflags="-a -b" keeps its spaces.  It compiles with CC and CXX
# (default: configure's own choice, cc) through ccache when there is one.
# The output goes to DIR/NAME/configure.log.  Returns configure's status.
configure_qemu() {
    local name=build cc="" cxx=c++ compilers=()
    while [ $# -gt 0 ]; do
        case "$1" in
            --build) name=$2; shift 2 ;;
            --cc) cc=$2; shift 2 ;;
            --cxx) cxx=$2; shift 2 ;;
            *) break ;;
        esac
    done
    local dir=$1 pkgversion=$2 flags=$3
    shift 3
    if command -v ccache >/dev/null; then
        compilers=(--cc="ccache ${cc:-cc}" --cxx="ccache $cxx")
    elif [ -n "$cc" ]; then
        compilers=(--cc="$cc" --cxx="$cxx")
    fi
    mkdir -p "$dir/$name"
    # shellcheck disable=SC2086
    (cd "$dir/$name" && ../src/configure --python=/usr/bin/python3 \
        "${compilers[@]}" $flags "$@" --with-pkgversion="$pkgversion" \
        >configure.log 2>&1)
}

# Configure and build the project (plugin, guests, tools) in _build against
# the patched QEMU builds.  Prints nothing unless it fails.
project_build() {
    local b=$QRT_TOP/_build tcg tci
    tcg=$("$QRT_TOP/scripts/pipeline/build-qemu" --variant tcg --print-dir)
    tci=$("$QRT_TOP/scripts/pipeline/build-qemu" --variant tci --print-dir)
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
