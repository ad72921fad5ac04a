#!/bin/bash
# SPDX-License-Identifier: MIT
# fs_volume.sh - the volume data path (volume-plugin/fuse_fs.c + nfs_backend.c) against a
# real nfs-ganesha in its own network namespace, through real FUSE mounts made by
# volfs_tool (which calls volfs_mount/volfs_unmount) from a client namespace:
#   * file operations through the mount, read back with libnfs directly (nfs-cat) and on
#     the server's disk; a second mount ("second node") sees the same data both ways
#   * identity: the caller's uid reaches the server, root is squashed (root_squash), a
#     volume with a fixed uid 376 writes as 376 (also for root, and root's chown is ignored)
#   * read-only mounts
#   * outages: SIGSTOP, dropped packets (nft in the server netns) and a killed+restarted
#     server: file operations fail within the timeout (never hang), and the same mount
#     works again after the server returns
#   * the volume's directory replaced on the server: nothing lands in the new one
#   * unmount is quick and leaves no mount behind
# Needs root, /dev/fuse, nfs-ganesha, libnfs-utils, nftables; exits 77 otherwise.
# Usage: fs_volume.sh [PATH_TO_volfs_tool]   (default: $PROJECT_BUILD_DIR/tests/volume/fs/volfs_tool)
set -euo pipefail
# shellcheck source=tests/lib/volfs.sh
. "$(dirname "$0")/../../lib/volfs.sh"
volfs_require "${1:-}"
require_cmd nfs-cat:libnfs-utils setpriv:util-linux timeout:coreutils

T=3 # the volumes' NFS timeout, seconds
work=$(tl_tmpdir volfs)
chmod 0755 "$work" # other uids must reach the mount points inside
NFS_PORT=${FS_NFS_PORT:-14049} NFS_MNTPORT=${FS_MNT_PORT:-14050} \
	ganesha_pair "$work/g" vfs 198.18.41
srv=$G_SRV_NS cli=$G_CLI_NS server=$G_SRV_ADDR exp=$work/g/export
mkdir -p "$exp/vol1" "$exp/vol376"
chmod 0777 "$exp/vol1"
chown 376:376 "$exp/vol376"
chmod 0755 "$exp/vol376"

url() { ganesha_url "$work/g" "$server" "$1"; }

# ---------------------------------------------------------------- data through the mount
mount_vol A vol1
A=$MP_A
echo hello >"$A/hello.txt"
head -c $((8 * 1024 * 1024 + 12345)) /dev/urandom >"$work/big.bin"
cp "$work/big.bin" "$A/big.bin"
cmp -s "$work/big.bin" "$exp/vol1/big.bin" || tl_fail "server disk content differs from what was written"
ns_exec "$cli" nfs-cat "$(url vol1/big.bin)" >"$work/big.back"
cmp -s "$work/big.bin" "$work/big.back" || tl_fail "nfs-cat (libnfs) read back differs"
cmp -s "$work/big.bin" "$A/big.bin" || tl_fail "read back through the mount differs"
[ "$(ns_exec "$cli" nfs-cat "$(url vol1/hello.txt)")" = hello ] || tl_fail "nfs-cat hello.txt"
tl_ok "write through FUSE, read back via libnfs, the server's disk and FUSE (8 MiB + small)"

mkdir "$A/d1" "$A/d1/d2"
echo one >"$A/d1/d2/f"
mv "$A/d1/d2/f" "$A/d1/g"
[ "$(cat "$exp/vol1/d1/g")" = one ] && [ ! -e "$exp/vol1/d1/d2/f" ] || tl_fail "rename"
ln -s ../hello.txt "$A/d1/sym"
[ "$(readlink "$A/d1/sym")" = ../hello.txt ] && [ "$(cat "$A/d1/sym")" = hello ] || tl_fail "symlink"
[ "$(readlink "$exp/vol1/d1/sym")" = ../hello.txt ] || tl_fail "symlink on the server"
ln "$A/hello.txt" "$A/d1/hard"
[ "$(stat -c %i "$exp/vol1/hello.txt")" = "$(stat -c %i "$exp/vol1/d1/hard")" ] || tl_fail "hard link"
chmod 0640 "$A/d1/g"
[ "$(stat -c %a "$exp/vol1/d1/g")" = 640 ] || tl_fail "chmod"
truncate -s 2 "$A/d1/g"
[ "$(stat -c %s "$exp/vol1/d1/g")" = 2 ] || tl_fail "truncate"
touch -m -d '2020-02-03 04:05:06 UTC' "$A/d1/g"
[ "$(stat -c %Y "$exp/vol1/d1/g")" = 1580702706 ] || tl_fail "utimens: $(stat -c %Y "$exp/vol1/d1/g")"
dd if=/dev/zero of="$A/d1/synced" bs=64k count=4 conv=fsync status=none || tl_fail "write+fsync"
printf 'abc' >>"$A/d1/synced"
[ "$(stat -c %s "$exp/vol1/d1/synced")" = 262147 ] || tl_fail "append"
[ "$(ls "$A/d1" | sort | tr '\n' ' ')" = "d2 g hard sym synced " ] || tl_fail "readdir: $(ls "$A/d1")"
[ "$(stat -c %s "$A/big.bin")" = $((8 * 1024 * 1024 + 12345)) ] || tl_fail "getattr size"
rm "$A/d1/hard" "$A/d1/sym"
rmdir "$A/d1/d2"
[ ! -e "$exp/vol1/d1/d2" ] && [ ! -e "$exp/vol1/d1/hard" ] || tl_fail "unlink/rmdir"
df -P "$A" | awk 'NR == 2 && $2 > 0 { ok = 1 } END { exit !ok }' || tl_fail "statfs"
if mkdir "$A/d1" 2>/dev/null; then tl_fail "mkdir of an existing dir succeeded"; fi
if cat "$A/missing" 2>/dev/null; then tl_fail "reading a missing file succeeded"; fi
tl_ok "mkdir, rename, symlink, link, chmod, truncate, utimens, fsync, append, readdir, unlink, rmdir, statfs, errors"

# a change made behind the mount's back (on the server) is seen within the 1 s caches
echo server-side >"$exp/vol1/fromserver.txt"
wait_until 3 grep -q server-side "$A/fromserver.txt" || tl_fail "file created on the server not seen"
# lookups use a directory handle kept up to 1 s (nfs_backend.c nfsb_lookup_attr): a
# directory replaced on the server, removed or renamed away, is walked to anew
mkdir "$exp/vol1/rd" && echo a >"$exp/vol1/rd/f"
[ "$(cat "$A/rd/f")" = a ] || tl_fail "file in a directory made on the server"
rm -r "$exp/vol1/rd" && mkdir "$exp/vol1/rd" && echo b >"$exp/vol1/rd/g"
wait_until 3 grep -q b "$A/rd/g" || tl_fail "file in a directory removed and made again not seen"
mv "$exp/vol1/rd" "$exp/vol1/rd2" && mkdir "$exp/vol1/rd" && echo c >"$exp/vol1/rd/h"
wait_until 3 grep -q c "$A/rd/h" || tl_fail "file in a directory renamed away and made again not seen"
rm -r "$exp/vol1/rd" "$exp/vol1/rd2"
tl_ok "changes on the server are seen through the mount"

# concurrency: parallel writers and readers share the connection pool
pids=()
for i in 1 2 3 4 5 6; do
	(cp "$work/big.bin" "$A/par$i.bin" && cmp -s "$work/big.bin" "$A/par$i.bin") &
	pids+=($!)
done
(for i in $(seq 1 200); do echo "$i" >"$A/d1/small$i"; done) &
pids+=($!)
for p in "${pids[@]}"; do wait "$p" || tl_fail "a parallel writer/reader failed"; done
for i in 1 2 3 4 5 6; do
	cmp -s "$work/big.bin" "$exp/vol1/par$i.bin" || tl_fail "parallel file $i differs on the server"
	rm "$A/par$i.bin"
done
[ "$(ls "$exp/vol1/d1" | grep -c '^small')" = 200 ] || tl_fail "parallel small files"
rm -f "$A"/d1/small*
tl_ok "6 parallel 8 MiB writers+readers and 200 small files at once"

# ---------------------------------------------------------------- second node
mount_vol B vol1
B=$MP_B
cmp -s "$work/big.bin" "$B/big.bin" || tl_fail "second mount reads different data"
echo from-b >"$B/from-b.txt"
[ "$(cat "$A/from-b.txt")" = from-b ] || tl_fail "first mount does not see the second's file"
echo more >>"$A/from-b.txt"
wait_until 3 eval "[ \"\$(cat '$B/from-b.txt')\" = \"\$(printf 'from-b\nmore')\" ]" ||
	tl_fail "second mount does not see the first's append"
tl_ok "a second mount (second node) sees the data, both ways"

# ---------------------------------------------------------------- identity, root_squash
[ "$(stat -c %u:%g "$exp/vol1/hello.txt")" = 65534:65534 ] || tl_fail "root not squashed: $(stat -c %u:%g "$exp/vol1/hello.txt")"
setpriv --reuid=1000 --regid=1000 --clear-groups sh -c "echo u1000 > '$A/u1000.txt'" ||
	tl_fail "uid 1000 cannot write into a 0777 directory"
[ "$(stat -c %u:%g "$exp/vol1/u1000.txt")" = 1000:1000 ] || tl_fail "uid 1000's file owned by $(stat -c %u:%g "$exp/vol1/u1000.txt")"
chmod 0600 "$exp/vol1/u1000.txt"
if setpriv --reuid=1001 --regid=1001 --clear-groups cat "$A/u1000.txt" >/dev/null 2>&1; then
	tl_fail "uid 1001 read uid 1000's 0600 file"
fi
setpriv --reuid=1000 --regid=1000 --clear-groups cat "$A/u1000.txt" >/dev/null || tl_fail "owner cannot read its 0600 file"
if chown 0:0 "$A/u1000.txt" 2>/dev/null; then tl_fail "squashed root could chown"; fi
# search permission without read permission (0711): lookups inside still work
mkdir -m 0711 "$exp/vol1/x711" && echo in711 >"$exp/vol1/x711/f" && chmod 0644 "$exp/vol1/x711/f"
[ "$(setpriv --reuid=1001 --regid=1001 --clear-groups cat "$A/x711/f")" = in711 ] ||
	tl_fail "uid 1001 cannot reach a file in a 0711 directory"
if setpriv --reuid=1001 --regid=1001 --clear-groups ls "$A/x711" >/dev/null 2>&1; then
	tl_fail "uid 1001 listed a 0711 directory"
fi
tl_ok "caller identity: uid 1000 owns its files, the server enforces modes (0711 directories too), root is squashed to 65534"

mount_vol F vol376 -u 376 -g 376
F=$MP_F
echo root-wrote >"$F/by-root.txt" || tl_fail "root cannot write into a fixed-uid volume under root_squash"
setpriv --reuid=1000 --regid=1000 --clear-groups sh -c "echo x > '$F/by-1000.txt'" || tl_fail "uid 1000 cannot write into the fixed-uid volume"
mkdir "$F/sub"
for f in by-root.txt by-1000.txt sub; do
	[ "$(stat -c %u:%g "$exp/vol376/$f")" = 376:376 ] || tl_fail "$f owned by $(stat -c %u:%g "$exp/vol376/$f"), not 376:376"
done
# what Docker's copy-up does as root: copy with owners, then chown the volume root
mkdir -p "$work/img/data/etc"
echo conf >"$work/img/data/etc/app.conf"
chown -R 0:0 "$work/img/data"
chown 1234:1234 "$work/img/data/etc/app.conf"
cp -a "$work/img/data/." "$F/" || tl_fail "copy-up (cp -a as root) into the fixed-uid volume failed"
chown 0:0 "$F" || tl_fail "chown of the volume root as root failed"
[ "$(cat "$exp/vol376/etc/app.conf")" = conf ] || tl_fail "copied content"
[ "$(stat -c %u "$exp/vol376/etc/app.conf")" = 376 ] || tl_fail "copied file not owned by 376"
tl_ok "fixed uid/gid 376: every request is 376 (root too, under root_squash); root's chown is ignored so copy-up works"

mount_vol R vol1 -r
R=$MP_R
[ "$(cat "$R/hello.txt")" = hello ] || tl_fail "read-only mount: read"
if { echo x >"$R/nope.txt"; } 2>/dev/null; then tl_fail "read-only mount accepted a write"; fi
stop_vol "$PID_R" "$R"
grep -q 'unmounted' "$work/R.log" || tl_fail "read-only mount: volfs_unmount did not finish"
tl_ok "read-only mount reads and refuses writes"

# ---------------------------------------------------------------- outages
limit=$((T * 1000 + 1500))
# probe_fail MODE WHAT CMD... : CMD (bounded to 30 s) fails, within the timeout; sets MS
probe_fail() {
	local mode=$1 what=$2 t0 rc=0
	shift 2
	t0=$(tl_now_ms)
	timeout 30 "$@" >/dev/null 2>&1 || rc=$?
	MS=$(($(tl_now_ms) - t0))
	[ "$rc" != 0 ] || tl_fail "outage $mode: $what succeeded"
	[ "$rc" != 124 ] || tl_fail "outage $mode: $what hung for 30 s"
	[ "$MS" -le "$limit" ] || tl_fail "outage $mode: $what failed only after $MS ms (limit $limit)"
}
for mode in stop drop kill; do
	ganesha_outage "$work/g" "$mode" on
	# uncached operations: a lookup of a new name (negative_timeout 0) and a create
	probe_fail "$mode" "lookup" stat "$A/nonexistent-$mode"
	t1=$MS
	probe_fail "$mode" "create+write" sh -c "echo x > '$A/during-$mode.txt'"
	t2=$MS
	probe_fail "$mode" "read of a file" sh -c "cat '$A/big.bin' > /dev/null"
	t3=$MS
	ganesha_outage "$work/g" "$mode" off
	wait_until 20 sh -c "echo after > '$A/after-$mode.txt' && cmp -s '$work/big.bin' '$A/big.bin'" ||
		tl_fail "outage $mode: the mount did not work again after the server came back"
	[ "$(cat "$exp/vol1/after-$mode.txt")" = after ] || tl_fail "outage $mode: write after recovery"
	tl_ok "outage $mode: lookup/create/read fail in $t1/$t2/$t3 ms (timeout ${T} s); same mount works after"
done

# an open file survives a server restart (NFSv3 handles do; re-opened by path)
exec 7<"$A/big.bin"
head -c 100 <&7 >/dev/null
ganesha_outage "$work/g" kill on
ganesha_outage "$work/g" kill off
wait_until 20 sh -c "head -c 1000 <&7 >/dev/null" || tl_fail "open file unusable after a server restart"
exec 7<&-
tl_ok "a file kept open across a server restart is readable again"

# the volume's directory replaced on the server (another node renamed it away and made a
# new one with the name): the mount keeps working on the directory it mounted, or fails,
# and never writes into the new one (each connection mounts the directory itself and
# checks it is the same object, fuse_fs.c connect_one)
mkdir -p "$exp/volsw"
chmod 0777 "$exp/volsw"
mount_vol S volsw
S=$MP_S
echo before >"$S/before.txt"
mv "$exp/volsw" "$exp/volsw-old"
mkdir "$exp/volsw"
chmod 0777 "$exp/volsw"
if echo x >"$S/swapped.txt" 2>/dev/null; then
	[ "$(cat "$exp/volsw-old/swapped.txt")" = x ] || tl_fail "replaced directory: a write went elsewhere"
fi
[ ! -e "$exp/volsw/swapped.txt" ] || tl_fail "replaced directory: a write landed in the new directory"
# after a server restart every connection mounts again: the new directory is refused
ganesha_outage "$work/g" kill on
ganesha_outage "$work/g" kill off
wait_until 20 sh -c "cat '$A/hello.txt' >/dev/null" || tl_fail "server did not come back"
wait_until 10 sh -c "! echo y 2>'$work/s.err' >'$S/after.txt' && grep -q 'Stale file handle' '$work/s.err'" ||
	tl_fail "replaced directory: a write after reconnecting did not fail with ESTALE ($(cat "$work/s.err"))"
[ ! -e "$exp/volsw/after.txt" ] && [ ! -e "$exp/volsw-old/after.txt" ] ||
	tl_fail "replaced directory: a write after reconnecting was done"
grep -q 'gone or was replaced' "$work/S.log" || tl_fail "replaced directory: no warning in the log"
stop_vol "$PID_S" "$S"
tl_ok "a replaced volume directory: writes never land in the new one; ESTALE once reconnected"

# ---------------------------------------------------------------- unmount
t0=$(tl_now_ms)
stop_vol "$PID_B" "$B"
ms=$(($(tl_now_ms) - t0))
! mountpoint -q "$B" || tl_fail "second mount still mounted after stop"
grep -q 'unmounted' "$work/B.log" || tl_fail "volfs_unmount did not finish (log: $(tail -2 "$work/B.log"))"
[ "$(cat "$A/hello.txt")" = hello ] || tl_fail "first mount broken by the second's unmount"
tl_ok "unmount in $ms ms, the other mount is unaffected"

# clean stops of the rest; with a sanitizer build, no report in any log
stop_vol "$PID_A" "$A"
stop_vol "$PID_F" "$F"
for n in A B F R S; do
	grep -q 'unmounted' "$work/$n.log" || tl_fail "mount $n: volfs_unmount did not finish"
	if grep -E 'Sanitizer|runtime error' "$work/$n.log" >&2; then
		tl_fail "mount $n: sanitizer report in $work/$n.log"
	fi
done
tl_ok "every mount stopped cleanly (no sanitizer reports)"
