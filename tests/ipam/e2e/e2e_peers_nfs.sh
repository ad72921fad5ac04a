#!/bin/bash
# SPDX-License-Identifier: MIT
# e2e_peers_nfs.sh - every node's networks count, through a real NFS server: two
# ipam-plugin instances in their own network namespaces ("nodes" A and B) exchange their
# host-network documents over nfs:// (libnfs, user space) with nfs-ganesha serving the
# export from a third namespace, as on a cluster where the NFS server is another machine.
#   B has 10.0.0.0/24 on an interface: A's global choice skips it and an explicit global
#   10.0.0.0/24 on A is refused, naming node B; the documents are on the export;
#   the server stops answering (packets dropped): A logs a warning, keeps deciding with
#   the last copy, and logs when the server is back.
#
#     e2e_peers_nfs.sh PATH/TO/ipam-plugin PATH/TO/ipam_call
#
# Needs root, network namespaces, nfs-ganesha (+ VFS backend), rpcbind and nftables;
# exits 77 otherwise. Every address lives in the namespaces this test creates.
set -euo pipefail
PLUGIN=$(realpath "$1")
CALL=$(realpath "$2")
. "$(dirname "$0")/../../../scripts/lib/ganesha.sh"
# shellcheck source=tests/lib/ipam_peers.sh
. "$(dirname "$0")/../../lib/ipam_peers.sh"

require_netns
require_ganesha

srv=$(ns_name pnfs-srv)
a=$(ns_name pnfs-a)
b=$(ns_name pnfs-b)
dir=$(tl_tmpdir ipam-peers-nfs)
: >"$dir/resolv.conf"
# In a sanitizer build: libnfs 4.0 leaks its connect state (~235 bytes) when a connect or
# MOUNT times out (rpc_connect_port_async); that is libnfs's, not ours.
export LSAN_OPTIONS="suppressions=$(cd "$(dirname "$0")/../../lib" && pwd)/libnfs.lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"

ns_add "$srv"
ns_add "$a"
ns_add "$b"
# Each node reaches the server over its own link; B's LAN 10.0.0.0/24 ends in the server
# namespace (no address there), A has a route to 10.0.1.0/24.
ns_veth "$a" eth0 198.18.9.2/30 "$srv" a0 198.18.9.1/30
ns_veth "$b" eth0 198.18.9.6/30 "$srv" b0 198.18.9.5/30
ns_veth "$b" lan0 10.0.0.1/24 "$srv" lanb -
ns_route "$a" 10.0.1.0/24 via 198.18.9.1

tl_log "starting nfs-ganesha in $srv"
NFS_BIND=0.0.0.0 ganesha_up "$dir/nfs" "$dir/nfs/export" "$srv" >/dev/null
url_a=$(ganesha_url "$dir/nfs" 198.18.9.1)
url_b=$(ganesha_url "$dir/nfs" 198.18.9.5)
docs=$dir/nfs/export/.openmpf-ipam-networks

log_count_ge() { [ "$(grep -cF -- "$2" "$dir/$1.log")" -ge "$3" ]; }

start_node "$b" nB "$url_b" NFS_TIMEOUT=2 POOLS=10.0.0.0/8:24
wait_until -p "$pid_nB" 10 test -s "$docs/nB.json" || tl_fail "node B published nothing on the export"
start_node "$a" nA "$url_a" NFS_TIMEOUT=2 POOLS=10.0.0.0/8:24
wait_until -p "$pid_nA" 10 log_has nA "from nodes [nB]" || tl_fail "node A never read node B's document"
wait_until -p "$pid_nB" 10 log_has nB "from nodes [nA]" || tl_fail "node B never read node A's document"
[ -s "$docs/nA.json" ] || tl_fail "nA.json missing on the export"
grep -qF '"node":"nB"' "$docs/nB.json" || tl_fail "nB.json: $(cat "$docs/nB.json")"
tl_ok "two plugins exchange their documents through $url_a"

expect_pool nA openmpf-global "" 10.0.2.0/24
log_has nA "interface lan0 10.0.0.1/24 on node nB" || tl_fail "A's choice did not name node B"
expect_refused nA openmpf-global 10.0.0.0/24 "collides with interface lan0 10.0.0.1/24 on node nB"
# A's pool is published with its grant, and B reads anew before deciding: B skips it too.
expect_pool nB openmpf-global "" 10.0.3.0/24
log_has nB "route 10.0.1.0/24 via 198.18.9.1 dev eth0 table main on node nA" || tl_fail "B's choice did not name node A"
log_has nB "swarm pool 10.0.2.0/24 on node nA" || tl_fail "B's choice did not name A's pool"
tl_ok "global decisions avoid the other node's networks and pools learned over NFS"
# B gives its pool back (the expectations below are for A's pool alone); A reads anew
pool_release nB openmpf-global/10.0.3.0/24
wait_until 10 bash -c "! grep -qF 10.0.3.0/24 '$docs/nB.json'" || tl_fail "node B still publishes 10.0.3.0/24 after releasing it"
expect_refused nA openmpf-global 10.0.0.0/24 "collides with interface lan0 10.0.0.1/24 on node nB"

# The server goes silent: a warning, and decisions go on with the last copy.
ganesha_outage "$dir/nfs" drop on
wait_until 20 log_has nA "unreachable" || tl_fail "node A logged no warning for the silent server"
t0=$(tl_now_ms)
expect_refused nA openmpf-global 10.0.0.0/24 "on node nB"
expect_pool nA openmpf-global "" 10.0.3.0/24
[ $(($(tl_now_ms) - t0)) -lt 2000 ] || tl_fail "decisions waited for the silent server"
tl_ok "server silent: warning logged, decisions answered at once with the last copy"
ganesha_outage "$dir/nfs" drop off
wait_until 30 log_count_ge nA "reachable: published as node nA" 2 ||
	tl_fail "node A did not log that the server is back"
tl_ok "server back: published again"

kill -TERM "$pid_nA" "$pid_nB"
wait "$pid_nA" || tl_fail "node A exit status $?"
wait "$pid_nB" || tl_fail "node B exit status $?"
tl_ok "clean exit on SIGTERM"
