#!/usr/bin/env bash
# Builds ctmpl's container image (packaging/Dockerfile) without any registry: stages a build
# context with the ctmpl binary, the shared libraries `ldd` lists for it, and Debian's static
# busybox (apt-get install busybox-static) for the shell commands templates run, then runs
# `docker build`.
#
#   packaging/image.sh [-b BINARY] [-t TAG] [-o DIR]
#     -b BINARY  the ctmpl binary (default: `cargo build --release`, then
#                ${CARGO_TARGET_DIR:-target}/release/ctmpl)
#     -t TAG     the image's tag (default: ctmpl:VERSION, VERSION from `ctmpl -v`)
#     -o DIR     only stage the build context in DIR (it must not exist); do not build
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
binary= tag= out=
while getopts b:t:o:h opt; do
  case $opt in
    b) binary=$OPTARG ;;
    t) tag=$OPTARG ;;
    o) out=$OPTARG ;;
    *) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
  esac
done
if [[ -z $binary ]]; then
  (cd "$here/.." && "${CARGO:-cargo}" build --release --bin ctmpl)
  # Cargo ran in the repository: a relative CARGO_TARGET_DIR is relative to it.
  target=${CARGO_TARGET_DIR:-target}
  [[ $target == /* ]] || target=$here/../$target
  binary=$target/release/ctmpl
fi
[[ -x $binary ]] || { echo "image.sh: no ctmpl binary at $binary" >&2; exit 1; }
# Static: ldd finds no libraries to list (Debian's busybox package is dynamic).
busybox=
for candidate in "$(command -v busybox || true)" /bin/busybox; do
  if [[ -x $candidate ]] && ! ldd "$candidate" >/dev/null 2>&1; then
    busybox=$candidate
    break
  fi
done
[[ -n $busybox ]] || { echo "image.sh: needs a static busybox: apt-get install busybox-static" >&2; exit 1; }

if [[ -n $out ]]; then
  [[ ! -e $out ]] || { echo "image.sh: $out already exists" >&2; exit 1; }
  ctx=$out
  mkdir -p "$ctx"
else
  ctx=$(mktemp -d)
  trap 'rm -rf "$ctx"' EXIT
fi
root=$ctx/rootfs
mkdir -p "$root/usr/bin" "$root/bin" "$root/tmp" "$root/etc"
chmod 1777 "$root/tmp"
cp "$binary" "$root/usr/bin/ctmpl"
# The libraries the dynamic loader needs, at the paths ldd names (the loader itself included).
ldd "$binary" | grep -o '/[^ ]*' | while read -r lib; do
  mkdir -p "$root$(dirname "$lib")"
  cp -L "$lib" "$root$lib"
done
cp "$busybox" "$root/bin/busybox"
for applet in sh kill cat ls echo sleep; do ln -s busybox "$root/bin/$applet"; done
printf 'root:x:0:0:root:/:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$root/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
cp "$here/Dockerfile" "$ctx/Dockerfile"

if [[ -n $out ]]; then
  echo "$ctx"
  exit 0
fi
if [[ -z $tag ]]; then
  version=$("$binary" -v | awk '{print $2}')
  tag=ctmpl:${version#v}
fi
docker build -q -t "$tag" "$ctx" >/dev/null
echo "$tag"
