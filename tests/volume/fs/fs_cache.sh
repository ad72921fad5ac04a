#!/bin/bash
# SPDX-License-Identifier: MIT
# fs_cache.sh - close-to-open caching of the volume data path (issue 11), through real FUSE
# mounts made by volfs_tool against nfs-ganesha in its own network namespace:
#   * a second read of an unchanged file through the same mount costs no NFS READ traffic
#     (bytes the server sends, counted by nftables in its namespace)
#   * a file the first mount has cached and that changes through a second mount (another
#     "node") is read with the new content at the next open: a plain rewrite, and one of
#     the same size whose mtime is set back (only ctime tells)
#   * the same for a change made directly through libnfs (nfsb_check put), after the first mount
#     had also cached the file's attributes (the file grew)
#   * fsync returns with the data on the server (read on the export's disk while the file is
#     still open), and so does close
# The outage behaviour (fsync/close of written data with a dead server end in an error,
# never a hang) is fs_faults.sh's.
# Needs root, /dev/fuse, nfs-ganesha, nftables; exits 77 otherwise.
# Usage: fs_cache.sh [PATH_TO_volfs_tool]  (fault_io is expected next to it)
set -euo pipefail
# shellcheck source=tests/lib/volfs.sh
. "$(dirname "$0")/../../lib/volfs.sh"
volfs_require "${1:-}"
require_cmd nft:nftables
fio=$(dirname "$tool")/fault_io
[ -x "$fio" ] || tl_skip "fault_io not built next to $tool"
check=$PROJECT_BUILD_DIR/tests/shared/nfsb_check
[ -x "$check" ] || tl_skip "nfsb_check not built at $check"

T=3 # the volumes' NFS timeout, seconds
work=$(tl_tmpdir volcache)
chmod 0755 "$work"
NFS_PORT=${FS_CACHE_NFS_PORT:-14249} NFS_MNTPORT=${FS_CACHE_MNT_PORT:-14250} \
	ganesha_pair "$work/g" vfc 198.18.43
srv=$G_SRV_NS cli=$G_CLI_NS server=$G_SRV_ADDR exp=$work/g/export
mkdir -p "$exp/vol"
chmod 0777 "$exp/vol"

# bytes the server sent from its NFS port (nftables counter in its namespace)
ns_exec "$srv" nft add table inet vfcount
ns_exec "$srv" nft add chain inet vfcount out '{ type filter hook output priority 0; }'
ns_exec "$srv" nft add rule inet vfcount out tcp sport "$G_PORT" counter
sent() { ns_exec "$srv" nft list chain inet vfcount out | awk '/counter/ { for (i = 1; i < NF; i++) if ($i == "bytes") print $(i + 1) }'; }

mount_vol A vol
mount_vol B vol
A=$MP_A B=$MP_B
size=$((4 * 1024 * 1024))

# ---------------------------------------------------------------- warm re-read
"$fio" pattern "$size" 1 >"$work/v1"
cp "$work/v1" "$exp/vol/c.bin" # made on the server's disk: nothing about it is cached
# owned by the anonymous user, as which root's requests through the mounts arrive
# (root_squash): the mounts may change its times
chown 65534:65534 "$exp/vol/c.bin"
s0=$(sent)
cmp -s "$work/v1" "$A/c.bin" || tl_fail "first read through A differs from the file"
s1=$(sent)
cmp -s "$work/v1" "$A/c.bin" || tl_fail "second read through A differs from the file"
s2=$(sent)
[ $((s1 - s0)) -ge "$size" ] || tl_fail "first read: the server sent only $((s1 - s0)) bytes of $size (counter broken?)"
[ $((s2 - s1)) -lt $((size / 16)) ] ||
	tl_fail "second read of an unchanged file: the server sent $((s2 - s1)) bytes (file: $size): not served from the page cache"
tl_ok "re-read of an unchanged file: $((s2 - s1)) bytes from the server (first read: $((s1 - s0)))"

# ---------------------------------------------------------------- change through another node
"$fio" pattern "$size" 2 >"$work/v2"
cp "$work/v2" "$B/c.bin"
cmp -s "$work/v2" "$A/c.bin" || tl_fail "A read stale data after B rewrote the file (same size)"
s3=$(sent)
cmp -s "$work/v2" "$A/c.bin" || tl_fail "A's second read after B's rewrite differs"
s4=$(sent)
[ $((s4 - s3)) -lt $((size / 16)) ] || tl_fail "A's re-read after refilling its cache: $((s4 - s3)) bytes from the server"
tl_ok "a rewrite through a second mount is read at the next open; then cached again"

# same size and the same mtime as before: only ctime differs
touch -m -d @1700000000 "$B/c.bin"
cat "$A/c.bin" >/dev/null # A caches the file with that mtime
"$fio" pattern "$size" 3 >"$work/v3"
cp "$work/v3" "$B/c.bin"
touch -m -d @1700000000 "$B/c.bin"
[ "$(stat -c %Y:%s "$exp/vol/c.bin")" = "1700000000:$size" ] || tl_fail "setup: mtime/size not as meant: $(stat -c %Y:%s "$exp/vol/c.bin")"
cmp -s "$work/v3" "$A/c.bin" || tl_fail "A read stale data after B rewrote the file with the same size and mtime"
tl_ok "a rewrite keeping size and mtime (only ctime changes) is read at the next open"

# ---------------------------------------------------------------- change directly through libnfs
stat "$A/c.bin" >/dev/null # A's kernel caches the old size too
cat "$A/c.bin" >/dev/null
"$fio" pattern $((size + 12345)) 4 >"$work/v4"
ns_exec "$cli" "$check" put "$server" "$G_PSEUDO" "$G_PORT" "$G_MNTPORT" vol/c.bin <"$work/v4"
cmp -s "$work/v4" "$exp/vol/c.bin" || tl_fail "setup: nfsb_check put did not write the file"
cmp -s "$work/v4" "$A/c.bin" || tl_fail "A read stale data after the file was changed through libnfs (grown by 12345 bytes)"
tl_ok "a change made through libnfs (file grown) is read at the next open"

# own writes: a partial rewrite through A is read back through A
printf 'own write' | dd of="$A/c.bin" bs=1 seek=1000 conv=notrunc status=none
printf 'own write' | dd of="$work/v4" bs=1 seek=1000 conv=notrunc status=none
cmp -s "$work/v4" "$A/c.bin" || tl_fail "A does not read back its own write"
cmp -s "$work/v4" "$B/c.bin" || tl_fail "B does not read A's write"
tl_ok "own writes are read back, and seen by the other mount"

# ---------------------------------------------------------------- fsync and close: on the server
coproc FIO { exec "$fio" synced "$A/s.bin" "$size" 5 2>"$work/fio.err"; }
pid=$FIO_PID
# our own copies of its pipes: bash drops FIO as soon as fault_io exits, which it does right
# after printing its last line
exec {fio_out}<&"${FIO[0]}" {fio_in}>&"${FIO[1]}"
read -r -t 30 line <&"$fio_out" || tl_fail "synced: no answer from fault_io ($(cat "$work/fio.err"))"
[ "$line" = "synced 0" ] || tl_fail "fsync through the mount: $line"
"$fio" pattern "$size" 5 >"$work/v5"
cmp -s "$work/v5" "$exp/vol/s.bin" || tl_fail "fsync returned 0 but the export's disk does not hold the data"
echo go >&"$fio_in"
read -r -t 30 line <&"$fio_out" || tl_fail "synced: no answer to close"
[ "$line" = "closed 0" ] || tl_fail "close through the mount: $line"
exec {fio_out}<&- {fio_in}>&-
wait "$pid" 2>/dev/null || true
tl_ok "fsync returned with the data on the server's disk (file still open)"

"$fio" pattern "$size" 6 >"$work/v6"
cp "$work/v6" "$A/c6.bin" # open, write, close
cmp -s "$work/v6" "$exp/vol/c6.bin" || tl_fail "close returned but the export's disk does not hold the data"
tl_ok "close returned with the data on the server's disk"

for n in A B; do
	if grep -E 'Sanitizer|runtime error' "$work/$n.log" >&2; then
		tl_fail "mount $n: sanitizer report in $work/$n.log"
	fi
done
