#!/bin/bash
# SPDX-License-Identifier: MIT
# ganesha_smoke.sh - the NFS test server library (scripts/lib/ganesha.sh) works:
# two servers at once (loopback + one in a netns, different ports), NFSv3 write/read
# with libnfs-utils, root_squash and uid=376, NFSv4 read, and every outage switch
# (drop, reject, stop, kill + restart) seen from a client in its own netns.
set -euo pipefail
# shellcheck source=scripts/lib/ganesha.sh
. "$(dirname "$0")/../../scripts/lib/ganesha.sh"
require_ganesha
require_netns
require_cmd nfs-cp:libnfs-utils nfs-ls:libnfs-utils nfs-cat:libnfs-utils

work=$(tl_tmpdir ganesha-smoke)

# --- server 1: loopback, non-default ports
NFS_PORT=${SMOKE_PORT1:-13049} NFS_MNTPORT=${SMOKE_MNTPORT1:-13050} \
	ganesha_up "$work/s1" "$work/s1/export"
u1=$(ganesha_url "$work/s1" 127.0.0.1)
head -c 1048576 /dev/urandom >"$work/1m.bin"
nfs-cp "$work/1m.bin" "$(ganesha_url "$work/s1" 127.0.0.1 1m.bin)" >/dev/null
cmp -s "$work/1m.bin" "$work/s1/export/1m.bin" || tl_fail "v3 write content"
nfs-cp "$(ganesha_url "$work/s1" 127.0.0.1 1m.bin)" "$work/back.bin" >/dev/null
cmp -s "$work/1m.bin" "$work/back.bin" || tl_fail "v3 read content"
tl_ok "loopback server: NFSv3 1 MiB write + read back"
[ "$(stat -c %u:%g "$work/s1/export/1m.bin")" = 65534:65534 ] || tl_fail "root not squashed to 65534"
tl_ok "root_squash maps root to 65534:65534"
nfs-cp "$work/1m.bin" "$(ganesha_url "$work/s1" 127.0.0.1 u376.bin)&uid=376&gid=376" >/dev/null
[ "$(stat -c %u:%g "$work/s1/export/u376.bin")" = 376:376 ] || tl_fail "uid=376 not honoured"
tl_ok "uid=376&gid=376 honoured"
nfs-cp "$(ganesha_url "$work/s1" 127.0.0.1 1m.bin 4)" "$work/back4.bin" >/dev/null
cmp -s "$work/1m.bin" "$work/back4.bin" || tl_fail "v4 read content"
nfs-ls "$(ganesha_url "$work/s1" 127.0.0.1 '' 4)" | grep -qE ' 376 +376 .* u376.bin$' || tl_fail "v4 owners not numeric"
tl_ok "NFSv4 read and numeric owners"

# --- server 2: in a netns, other ports, no_root_squash; client in a second netns
srv=$(ns_name nfs-srv) cli=$(ns_name nfs-cli)
ns_add "$srv"
ns_add "$cli"
ns_veth "$srv" eth0 198.18.3.1/30 "$cli" eth0 198.18.3.2/30
NFS_PORT=${SMOKE_PORT2:-13149} NFS_MNTPORT=${SMOKE_MNTPORT2:-13150} NFS_BIND=0.0.0.0 \
	NFS_SQUASH=no_root_squash ganesha_up "$work/s2" "$work/s2/export" "$srv"
u2=$(ganesha_url "$work/s2" 198.18.3.1)
ns_exec "$cli" nfs-cp "$work/1m.bin" "$(ganesha_url "$work/s2" 198.18.3.1 a.bin)" >/dev/null
[ "$(stat -c %u "$work/s2/export/a.bin")" = 0 ] || tl_fail "no_root_squash: file not owned by root"
tl_ok "netns server: client netns writes, no_root_squash keeps uid 0"
nfs-ls "$u1" | grep -q ' 1m.bin$' || tl_fail "loopback server stopped answering"
tl_ok "both servers serve at once"

# --- outages, seen from the client netns (bounded by timeout)
ls2() { ns_exec "$cli" timeout "${1:-3}" nfs-ls "$u2&tcp-syncnt=1&autoreconnect=0" >/dev/null 2>&1; }
for mode in drop reject stop; do
	ganesha_outage "$work/s2" "$mode" on
	if ls2 2; then tl_fail "outage '$mode': server still answered"; fi
	ganesha_outage "$work/s2" "$mode" off
	wait_until 10 ls2 || tl_fail "outage '$mode' off: server did not come back"
	tl_ok "outage '$mode': client fails while on, works after off"
done
ganesha_outage "$work/s2" kill on
if ls2 2; then tl_fail "outage 'kill': server still answered"; fi
ganesha_outage "$work/s2" kill off >/dev/null
wait_until 10 ls2 || tl_fail "server did not come back after kill + restart"
ns_exec "$cli" nfs-cat "$(ganesha_url "$work/s2" 198.18.3.1 a.bin)" | cmp -s - "$work/1m.bin" ||
	tl_fail "data lost across kill + restart"
tl_ok "outage 'kill': restart in the same netns serves the same data"
echo "ganesha smoke: all checks passed"
