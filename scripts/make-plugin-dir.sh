#!/bin/bash
# SPDX-License-Identifier: MIT
# make-plugin-dir.sh - assemble a Docker managed (v2) plugin directory from a local build,
# with no base image and no registry:
#
#     scripts/make-plugin-dir.sh [--busybox] OUTDIR CONFIG.json BINARY [FILE | SRC=DEST ...]
#
#   OUTDIR/config.json    copy of CONFIG.json
#   OUTDIR/rootfs/        BINARY at the path the manifest's "entrypoint" names (its first
#                         element), every library `ldd BINARY` lists and the ELF loader;
#                         the mount points runc and Docker use (/proc /dev /sys /tmp /etc
#                         /run/docker/plugins) plus every mount "destination" and the
#                         "propagatedMount" the manifest declares; /etc/openmpf-plugin
#                         (name and manifest hash: see the pitfall below)
#   FILE                  extra host file copied at the same path; SRC=DEST copies SRC to
#                         DEST inside the rootfs
#   --busybox             add /bin/busybox and /bin/sh (to debug with nsenter)
#
# Then: docker plugin create NAME:TAG OUTDIR && docker plugin enable NAME:TAG
#
# The result is deterministic: the same inputs give a byte-identical directory (fixed
# mtimes, SOURCE_DATE_EPOCH or 0; normalised modes), so the plugin's content digest only
# changes when the binary, a library or the manifest does.
#
# Pitfalls (docker.io 20.10):
#  * Two plugins whose rootfs are byte-identical cannot both be created in one daemon
#    ("content sha256:...: already exists"). /etc/openmpf-plugin names the binary and the
#    manifest hash, so our two plugins always differ; creating the SAME directory under a
#    second name still fails: docker plugin rm the first one, or change a file.
#  * `docker plugin set` works only on a disabled plugin and only for keys the manifest
#    declares settable.
#
# Needs: bash, coreutils, sed, grep, ldd (libc-bin). No jq.
set -euo pipefail

usage() {
	sed -n '3,17p' "$0" >&2
	exit 2
}

busybox=0
if [ "${1:-}" = --busybox ]; then
	busybox=1
	shift
fi
[ $# -ge 3 ] || usage
out=$1 cfg=$2 bin=$3
shift 3
[ -f "$cfg" ] || { echo "make-plugin-dir: no manifest $cfg" >&2; exit 1; }
[ -x "$bin" ] || { echo "make-plugin-dir: $bin is not an executable (build it first)" >&2; exit 1; }
epoch=${SOURCE_DATE_EPOCH:-0}

# The manifest as one line, for the small extractions below (no jq).
flat=$(tr -d '\n\r\t' <"$cfg")
# json_str KEY : the first string value of "KEY": "..." (keys match case-insensitively,
# as Go's decoder does)
json_str() {
	grep -ioE "\"$1\"[[:space:]]*:[[:space:]]*\"[^\"]*\"" <<<"$flat" | head -1 |
		sed -E 's/^[^:]*:[[:space:]]*"(.*)"$/\1/' || true
}
entry=$(grep -ioE '"entrypoint"[[:space:]]*:[[:space:]]*\[[[:space:]]*"[^"]*"' <<<"$flat" | head -1 |
	sed -E 's/^.*"([^"]*)"$/\1/' || true)
case $entry in
/*) ;;
*) echo "make-plugin-dir: $cfg: \"entrypoint\" must start with an absolute path (got '$entry')" >&2; exit 1 ;;
esac
propagated=$(json_str propagatedMount)
mapfile -t dests < <(grep -ioE '"destination"[[:space:]]*:[[:space:]]*"[^"]*"' <<<"$flat" |
	sed -E 's/^[^:]*:[[:space:]]*"(.*)"$/\1/' || true)

rm -rf "$out"
mkdir -p "$out/rootfs"
root=$out/rootfs
cp "$cfg" "$out/config.json"

# put SRC DEST MODE : copy a host file (following symlinks) into the rootfs
put() {
	mkdir -p "$root$(dirname "$2")"
	cp -L "$1" "$root$2"
	chmod "$3" "$root$2"
}

put "$bin" "$entry" 0755
# ldd prints "libx.so => /path (addr)" and "/lib64/ld-linux-x86-64.so.2 (addr)";
# a static binary prints "not a dynamic executable" (nothing to copy).
while read -r lib; do
	[ -n "$lib" ] || continue
	put "$lib" "$lib" 0755
done < <(LC_ALL=C ldd "$bin" 2>/dev/null | awk '/=> \//{print $3} /^[[:space:]]+\//{print $1}' | sort -u)
# glibc dlopen()s libgcc_s.so.1 (never listed by ldd) for pthread_cancel/pthread_exit and
# for unwinding: without it a threaded plugin (libfuse's worker threads) aborts with
# "libgcc_s.so.1 must be installed for pthread_cancel to work". Take it from libc's dir.
libc=$( (LC_ALL=C ldd "$bin" 2>/dev/null || true) | awk '/libc\.so\.6 => \//{print $3}')
if [ -n "$libc" ] && [ -e "$(dirname "$libc")/libgcc_s.so.1" ]; then
	put "$(dirname "$libc")/libgcc_s.so.1" "$(dirname "$libc")/libgcc_s.so.1" 0755
fi
if [ "$busybox" = 1 ]; then
	put /bin/busybox /bin/busybox 0755
	ln -sf busybox "$root/bin/sh"
fi
for f in "$@"; do
	case $f in
	*=*) put "${f%%=*}" "${f#*=}" 0644 ;;
	*) put "$f" "$f" 0644 ;;
	esac
done

# Mount points: runc creates missing ones, but a complete tree makes the rootfs
# self-describing and keeps read-only variants working.
for d in /proc /dev /sys /tmp /etc /run/docker/plugins ${propagated:+"$propagated"} ${dests[@]+"${dests[@]}"}; do
	mkdir -p "$root$d"
done
chmod 1777 "$root/tmp"
: >"$root/etc/hosts"
: >"$root/etc/resolv.conf"
printf '%s manifest-sha256 %s\n' "$(basename "$entry")" "$(sha256sum <"$cfg" | cut -d' ' -f1)" \
	>"$root/etc/openmpf-plugin"

# Deterministic metadata: directories 0755 (tmp 1777), fixed mtimes, root ownership.
find "$root" -type d ! -path "$root/tmp" -exec chmod 0755 {} +
chown -R 0:0 "$out" 2>/dev/null || true
find "$out" -exec touch -h -d "@$epoch" {} +

nfiles=$(find "$root" -type f | wc -l)
echo "plugin dir $out: entrypoint $entry, $nfiles files, $(du -sh "$root" | cut -f1)${propagated:+, propagatedMount $propagated}${dests[0]:+, mounts ${dests[*]}}"
