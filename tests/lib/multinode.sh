# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# multinode.sh - N Docker "hosts" on one machine, each a dockerd in its own network, mount
# and UTS namespace, joined into one swarm, plus a server namespace every node reaches
# (for the NFS server and the registry).  Source it (bash only):
#
#     . "$PROJECT_SOURCE_DIR/tests/lib/multinode.sh"  # also sources registry.sh, dockerd.sh, ganesha.sh
#     require_dockerd
#     export DK_BASE=$(tl_tmpdir mn)
#     mn_net_up 3                  # hub bridge, node netns n1..n3, server netns; gone at exit
#     mn_host_nets                 # node 2: 10.0.0.0/24 LAN; node 3: VPN route to 10.0.1.0/24
#     mn_daemons_up 3 --insecure-registry "$(mn_srv_addr):5000"
#     mn_swarm_up                  # n1 manager, the others workers; waits until all Ready
#     for n in $(mn_nodes); do dk "$n" info -f '{{.Swarm.LocalNodeState}}'; done
#
# The project's plugins on such a swarm:
#     mn_plugin_dirs ipam vol      # plugin dirs from the release build (skips if not built)
#     mn_net_up 3; mn_host_nets
#     mn_servers_up                # NFS server + registry in the server netns: MN_REG, MN_NFS_URL
#     mn_daemons_up 3 --insecure-registry "$MN_REG"
#     mn_push_plugins ipam vol     # pushed from n1 to the registry
#     mn_swarm_up 3                # three managers
#     mn_install n1 ipam POOLS=... # docker plugin install from the registry, as an operator
#     mn_snapshot_hostnets         # every node's host networks, for mn_check_clear
#     mn_check_clear ingress       # our driver, subnet clear of every node's networks
#
# Topology (nothing is added to the root netns):
#   netns $MN_PREFIX-hub   bridge br0
#   netns $MN_PREFIX-nI    eth0 = $MN_NET.(10+I)/24, a veth whose peer is a port of br0;
#                          dockerd $DK_BASE/nI (hostname nI, cgroup parent /dk-nI)
#   netns $MN_PREFIX-srv   eth0 = $MN_NET.2/24 on br0: NFS server, registry
# mn_host_nets adds the "host networks" the IPAM driver must avoid:
#   node 2: lan0 10.0.0.1/24, a veth to netns $MN_PREFIX-lan2 (10.0.0.2), like a LAN,
#           and a route 10.128.0.0/22 via 10.0.0.2 (inside the IPAM default POOLS)
#   node 3: vpn0 198.18.250.1/30, a veth to netns $MN_PREFIX-vpn3 (198.18.250.2), with
#           a route 10.0.1.0/24 via 198.18.250.2 (a VPN), and 10.0.1.1/24 behind it;
#           in table 100 routes 10.0.2.0/23 and 10.128.4.0/24 via 198.18.250.2
#
# Env: MN_PREFIX (default t<pid>-mn), MN_NET (default 198.19.0, from 198.18.0.0/15).
# Node directories are $DK_BASE/n1..nN, and DK_BASE is per test (tl_tmpdir); the cgroup
# parent is /dk-nI-<basename of DK_BASE>, so concurrent runs do not share cgroups (ctest
# still runs e2e serially: the tests are heavy).
#
# Limits of this machine (kernel without IPVS): service VIPs and the ingress routing mesh
# do not forward: use endpoint_mode dnsrr, tasks.<service>, or task IPs.

# shellcheck source=tests/lib/registry.sh
. "$(dirname "${BASH_SOURCE[0]}")/registry.sh"
# shellcheck source=scripts/lib/ganesha.sh
. "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib/ganesha.sh"

MN_PREFIX=${MN_PREFIX:-$(ns_name mn)}
MN_NET=${MN_NET:-198.19.0}
MN_N=0

# mn_require [registry] [binaries] : skip (saying why) unless this machine can run a
# multi-node test: root, docker.io, nfs-ganesha, docker-registry ("registry") and the
# build of both plugin binaries ("binaries"). Sets PROJECT_SOURCE_DIR and
# PROJECT_BUILD_DIR (tl_project_dirs).
mn_require() {
	local want=" $* " b
	require_dockerd
	if [[ $want == *" registry "* ]]; then require_registry; fi
	require_ganesha
	tl_project_dirs
	[[ $want == *" binaries "* ]] || return 0
	for b in ipam-plugin/ipam-plugin volume-plugin/volume-plugin; do
		[ -x "$PROJECT_BUILD_DIR/$b" ] ||
			tl_skip "plugin binary $PROJECT_BUILD_DIR/$b not built (cmake --build $PROJECT_BUILD_DIR)"
	done
}

# mn_nodes : the node names, n1..nN
mn_nodes() {
	local i
	for ((i = 1; i <= MN_N; i++)); do echo "n$i"; done
}

# mn_ns NODE : the network namespace of NODE (n1.., srv, hub, lan2, vpn3)
mn_ns() { echo "$MN_PREFIX-$1"; }

# mn_addr NODE : the swarm address of NODE (nI) or of the server namespace (srv)
mn_addr() {
	case $1 in
	srv) echo "$MN_NET.2" ;;
	n*) echo "$MN_NET.$((10 + ${1#n}))" ;;
	esac
}

# mn_srv_addr : the server namespace's address (NFS server, registry)
mn_srv_addr() { mn_addr srv; }

# mn_net_up N : hub bridge, N node namespaces and the server namespace, all wired to br0
mn_net_up() {
	local n=$1 i t0
	t0=$(tl_now_ms)
	MN_N=$n
	ns_add "$(mn_ns hub)"
	ns_bridge "$(mn_ns hub)" br0
	for ((i = 1; i <= n; i++)); do
		ns_add "$(mn_ns "n$i")"
		ns_bridge_port "$(mn_ns hub)" br0 "$(mn_ns "n$i")" eth0 "$(mn_addr "n$i")/24" "v$i"
	done
	ns_add "$(mn_ns srv)"
	ns_bridge_port "$(mn_ns hub)" br0 "$(mn_ns srv)" eth0 "$(mn_srv_addr)/24" vsrv
	echo "multinode: network for $n nodes up in $(($(tl_now_ms) - t0)) ms ($MN_NET.0/24, prefix $MN_PREFIX)"
}

# mn_host_nets : the clashing host networks of issue 4 (node 2 LAN, node 3 VPN route)
mn_host_nets() {
	local lan vpn
	lan=$(mn_ns lan2) vpn=$(mn_ns vpn3)
	ns_add "$lan"
	ns_veth "$(mn_ns n2)" lan0 10.0.0.1/24 "$lan" eth0 10.0.0.2/24
	ns_add "$vpn"
	ns_veth "$(mn_ns n3)" vpn0 198.18.250.1/30 "$vpn" eth0 198.18.250.2/30
	ns_veth "$vpn" tun0 10.0.1.1/24 "$vpn" tun0p -
	ns_route "$(mn_ns n3)" 10.0.1.0/24 via 198.18.250.2 dev vpn0
	ns_route "$(mn_ns n3)" 10.0.2.0/23 via 198.18.250.2 dev vpn0 table 100
	ns_route "$(mn_ns n3)" 10.128.4.0/24 via 198.18.250.2 dev vpn0 table 100
	ns_route "$(mn_ns n2)" 10.128.0.0/22 via 10.0.0.2 dev lan0
}

# mn_host_networks NODE : the IPv4 networks NODE's host has (interface subnets and
# non-default routes of every table), one CIDR per line
mn_host_networks() {
	local ns
	ns=$(mn_ns "$1")
	{
		ip -n "$ns" -4 -o addr show | awk '{print $4}' | while read -r a; do cidr_network "$a"; done
		ip -n "$ns" -4 route show table all | awk '$1 ~ /^[0-9]/ {print $1}' | sed -E '/\//!s/$/\/32/'
	} | sort -u
}

# mn_daemons_up N [dockerd flags] : dockerd per node (stopped at exit, logs on failure)
mn_daemons_up() {
	local n=$1 i
	shift
	tl_defer "mn_daemons_down"
	for ((i = 1; i <= n; i++)); do
		tl_on_fail "dk_log_tail n$i 25"
	done
	for ((i = 1; i <= n; i++)); do
		dk_start "$(_dk_dir "n$i")" "$(mn_ns "n$i")" "$@" || return 1
	done
}

# mn_daemons_down : leave the swarm, then stop every node's dockerd in parallel
mn_daemons_down() {
	local node pids=()
	mn_swarm_leave
	for node in $(mn_nodes); do
		dk_stop "$(_dk_dir "$node")" >/dev/null &
		pids+=($!)
	done
	# only these: a bare `wait` would also wait for servers this shell started (registry)
	wait "${pids[@]}" 2>/dev/null || true
}

# mn_swarm_leave : every node leaves the swarm (best effort)
mn_swarm_leave() {
	local node
	for node in $(mn_nodes); do
		if [ -S "$(_dk_dir "$node")/docker.sock" ]; then
			dk "$node" swarm leave --force >/dev/null 2>&1 || true
		fi
	done
	return 0
}

# _mn_ready_count : nodes the manager sees Ready
_mn_all_ready() {
	[ "$(dk n1 node ls --format '{{.Status}}' 2>/dev/null | grep -c Ready)" -eq "$MN_N" ]
}

# mn_swarm_up [MANAGERS] : swarm init on n1, join n2..nMANAGERS as managers (default 1:
# n1 only) and the others as workers, wait until all are Ready
mn_swarm_up() {
	local managers=${1:-1} t0 tok wtok mtok i a
	t0=$(tl_now_ms)
	a=$(mn_addr n1)
	dk n1 swarm init --advertise-addr "$a" --listen-addr "$a:2377" >/dev/null || return 1
	wtok=$(dk n1 swarm join-token -q worker)
	mtok=$(dk n1 swarm join-token -q manager)
	for ((i = 2; i <= MN_N; i++)); do
		a=$(mn_addr "n$i")
		tok=$wtok
		[ "$i" -le "$managers" ] && tok=$mtok
		dk "n$i" swarm join --token "$tok" --advertise-addr "$a" --listen-addr "$a:2377" \
			"$(mn_addr n1):2377" >/dev/null || return 1
	done
	wait_until 60 _mn_all_ready || { dk n1 node ls >&2; return 1; }
	echo "multinode: swarm of $MN_N ($managers manager(s)) ready in $(($(tl_now_ms) - t0)) ms"
}

# mn_leader [NODE...] : the name of the swarm leader, asked of the first NODE (default:
# every node) that answers; fails when none knows a leader
mn_leader() {
	local n l
	# shellcheck disable=SC2046  # node names have no spaces
	[ $# -gt 0 ] || set -- $(mn_nodes)
	for n in "$@"; do
		l=$(dk "$n" node ls --format '{{.Hostname}} {{.ManagerStatus}}' 2>/dev/null |
			awk '$2 == "Leader" {print $1}') || continue
		if [ -n "$l" ]; then
			echo "$l"
			return 0
		fi
	done
	return 1
}

# --- the project's plugins on every node ------------------------------------------------
# Needs tl_project_dirs (PROJECT_SOURCE_DIR / PROJECT_BUILD_DIR) and DK_BASE.
MN_IPAM=openmpf/ipam:latest
MN_VOL=openmpf/nfs-volume:latest
MN_REG=""     # registry ADDR:PORT (mn_servers_up)
MN_NFS_URL="" # nfs:// URL of the export (mn_servers_up)

# _mn_plugin KIND : "NAME BINARY MANIFEST DIR" of ipam or vol
_mn_plugin() {
	local s=$PROJECT_SOURCE_DIR b=$PROJECT_BUILD_DIR
	case $1 in
	ipam) echo "$MN_IPAM $b/ipam-plugin/ipam-plugin $s/ipam-plugin/config.json ${DK_BASE:-}/plugins/ipam" ;;
	vol) echo "$MN_VOL $b/volume-plugin/volume-plugin $s/volume-plugin/config.json ${DK_BASE:-}/plugins/nfs-volume" ;;
	*) echo "_mn_plugin: unknown plugin '$1' (ipam or vol)" >&2; return 1 ;;
	esac
}

# mn_plugin_dirs KIND... : managed-plugin directories (scripts/make-plugin-dir.sh) from
# the release build; skips the test when a binary or manifest is missing
mn_plugin_dirs() {
	local k name bin cfg dir
	for k in "$@"; do
		read -r name bin cfg dir <<<"$(_mn_plugin "$k")"
		[ -x "$bin" ] || tl_skip "plugin binary $bin not built (cmake --build $PROJECT_BUILD_DIR)"
		[ -f "$cfg" ] || tl_skip "plugin manifest $cfg missing"
		"$PROJECT_SOURCE_DIR/scripts/make-plugin-dir.sh" "$dir" "$cfg" "$bin" >/dev/null
	done
}

# mn_servers_up : nfs-ganesha (standard ports, found through rpcbind) and the registry
# (port 5000) in the server netns; sets MN_REG and MN_NFS_URL (needs ganesha.sh)
mn_servers_up() {
	local srv
	srv=$(mn_srv_addr)
	NFS_PORT=2049 NFS_MNTPORT=20048 NFS_BIND=0.0.0.0 \
		ganesha_up "$DK_BASE/nfs" "$DK_BASE/nfs/export" "$(mn_ns srv)" || return 1
	registry_up "$DK_BASE/registry" "$(mn_ns srv)" "$srv" 5000 || return 1
	MN_REG=$srv:5000
	MN_NFS_URL=nfs://$srv/export
}

# mn_nfs_block drop|reject : the NFS server becomes unreachable for every node: its NFS,
# MOUNT and rpcbind ports drop (silent server) or reject with a TCP reset (what a client
# sees as "Socket failed with POLLHUP") every packet, counted per node (mn_nfs_hits).
# nftables in the server netns only; the registry stays reachable.
mn_nfs_block() {
	local verdict=drop n rules=""
	[ "$1" = reject ] && verdict="reject with tcp reset"
	for n in $(mn_nodes); do
		rules+="		ip saddr $(mn_addr "$n") tcp dport { 2049, 20048, 111 } counter $verdict comment \"$n\"
"
	done
	ns_exec "$(mn_ns srv)" nft -f - <<NFT
table inet mn_nfs_block {
	chain input {
		type filter hook input priority -10; policy accept;
$rules	}
}
NFT
}

# mn_nfs_unblock : the NFS server is reachable again
mn_nfs_unblock() { ns_exec "$(mn_ns srv)" nft delete table inet mn_nfs_block 2>/dev/null || true; }

# mn_nfs_hits NODE : packets from NODE that mn_nfs_block dropped or rejected so far
mn_nfs_hits() {
	ns_exec "$(mn_ns srv)" nft list table inet mn_nfs_block 2>/dev/null |
		awk -v c="\"$1\"" '$0 ~ "comment " c {for (i = 1; i < NF; i++) if ($i == "packets") print $(i + 1)}'
}

# mn_push_plugins KIND... : create each plugin on n1 and push it to the registry
mn_push_plugins() {
	local k name bin cfg dir
	for k in "$@"; do
		read -r name bin cfg dir <<<"$(_mn_plugin "$k")"
		registry_push_plugin n1 "$dir" "$MN_REG/$name" || return 1
	done
}

# _mn_declared CONFIG NAME : the manifest declares a setting (env or mount) called NAME
_mn_declared() { tr -d '\n' <"$1" | grep -qE "\"name\"[[:space:]]*:[[:space:]]*\"$2\""; }

# mn_manifest_default KIND NAME : the default value the plugin's manifest gives the env
# setting NAME (empty if it declares none); one env entry per line, as ours are written
mn_manifest_default() {
	local name bin cfg dir
	read -r name bin cfg dir <<<"$(_mn_plugin "$1")"
	grep -E "\"name\"[[:space:]]*:[[:space:]]*\"$2\"" "$cfg" | head -1 |
		sed -nE 's/.*"value"[[:space:]]*:[[:space:]]*"([^"]*)".*/\1/p'
}

# mn_plugin_settings NODE KIND : the settings an operator gives on NODE, as README's
# "Install on a cluster" does (only those the manifest declares): the shared place,
# the node name, a state directory (made here, as the operator's mkdir -p), debug logs
mn_plugin_settings() {
	local n=$1 k=$2 name bin cfg dir s=()
	read -r name bin cfg dir <<<"$(_mn_plugin "$k")"
	case $k in
	ipam)
		_mn_declared "$cfg" state && { mkdir -p "$DK_BASE/$n/ipam-state"; s+=("state.source=$DK_BASE/$n/ipam-state"); }
		_mn_declared "$cfg" LOG_LEVEL && s+=(LOG_LEVEL=debug)
		_mn_declared "$cfg" SHARED_NETWORKS && s+=("SHARED_NETWORKS=$MN_NFS_URL")
		_mn_declared "$cfg" NODE_NAME && s+=("NODE_NAME=$n")
		;;
	vol)
		_mn_declared "$cfg" state && { mkdir -p "$DK_BASE/$n/vol-state"; s+=("state.source=$DK_BASE/$n/vol-state"); }
		_mn_declared "$cfg" LOG_LEVEL && s+=(LOG_LEVEL=debug)
		_mn_declared "$cfg" NFS_SERVER && s+=("NFS_SERVER=$(mn_srv_addr)")
		_mn_declared "$cfg" NFS_EXPORT && s+=(NFS_EXPORT=/export)
		_mn_declared "$cfg" NFS_PORT && s+=(NFS_PORT=2049)
		_mn_declared "$cfg" NFS_MOUNT_PORT && s+=(NFS_MOUNT_PORT=20048)
		_mn_declared "$cfg" NFS_TIMEOUT && s+=(NFS_TIMEOUT=5)
		_mn_declared "$cfg" REFRESH_INTERVAL && s+=(REFRESH_INTERVAL=2)
		;;
	esac
	echo "${s[@]}"
}

# mn_install NODE KIND [KEY=VAL...] : docker plugin install --grant-all-permissions from
# the registry on NODE, with mn_plugin_settings and then KEY=VAL... (later ones win)
mn_install() {
	local n=$1 k=$2 name bin cfg dir
	shift 2
	read -r name bin cfg dir <<<"$(_mn_plugin "$k")"
	# shellcheck disable=SC2046  # word list of KEY=VALUE settings (no spaces inside)
	registry_install_plugin "$n" "$MN_REG/$name" "$name" $(mn_plugin_settings "$n" "$k") "$@"
}

# mn_dump_plugins KIND... : the last lines of each node's plugin logs (on failure)
mn_dump_plugins() {
	local n k name bin cfg dir
	for n in $(mn_nodes); do
		for k in "$@"; do
			read -r name bin cfg dir <<<"$(_mn_plugin "$k")"
			echo "--- $n: $name log" >&2
			dk_plugin_log "$n" "$name" "${MN_DUMP_LINES:-30}" >&2 2>/dev/null || true
		done
	done
}

# mn_snapshot_hostnets : save every node's host networks (mn_host_networks) for
# mn_check_clear; call it before networks of ours exist on the hosts
mn_snapshot_hostnets() {
	local n
	for n in $(mn_nodes); do
		mn_host_networks "$n" >"$DK_BASE/hostnets.$n"
		echo "$n host networks: $(tr '\n' ' ' <"$DK_BASE/hostnets.$n")"
	done
}

# mn_subnets NODE NETWORK : NETWORK's IPv4 subnets as NODE sees them, one per line
mn_subnets() {
	dk "$1" network inspect -f '{{range .IPAM.Config}}{{.Subnet}} {{end}}' "$2" 2>/dev/null |
		tr ' ' '\n' | grep '\.' || true
}

# mn_wait_subnet NODE NETWORK [SECONDS] : wait until swarm allocated NETWORK (asynchronous
# on the leader) and print its IPv4 subnets; fails after SECONDS (30)
mn_wait_subnet() {
	wait_until -q "${3:-30}" eval "[ -n \"\$(mn_subnets '$1' '$2')\" ]" || return 1
	mn_subnets "$1" "$2"
}

# mn_allocation_error LEADER NETWORK-ID : swarm's "Failed allocation" line for the network
# in LEADER's dockerd log (swarm refuses asynchronously: network create returns an ID)
mn_allocation_error() {
	grep -F "Failed allocation for network $2" "$(_dk_dir "$1")/dockerd.log" | tail -1
}

# mn_clear_of_hosts SUBNET [MINPFX] : print "HOSTNET on NODE" for each saved host network
# (mn_snapshot_hostnets) SUBNET overlaps; routes shorter than /MINPFX (default 8, the
# IPAM default ROUTES=/8: full-tunnel 0.0.0.0/1 and 128.0.0.0/1) are not counted. The
# nodes are MN_CLEAR_NODES (default: every node). True when there is none.
mn_clear_of_hosts() {
	local sub=$1 min=${2:-8} n h clear=1
	for n in ${MN_CLEAR_NODES:-$(mn_nodes)}; do
		while read -r h; do
			[ "${h#*/}" -ge "$min" ] || continue
			if cidr_overlaps "$sub" "$h"; then
				echo "$h on $n"
				clear=0
			fi
		done <"$DK_BASE/hostnets.$n"
	done
	[ "$clear" = 1 ]
}

# mn_check_clear NETWORK [NODE] : NETWORK (as NODE, default n1, sees it) uses our IPAM
# driver and its IPv4 subnets overlap no node's saved host networks (only those of the
# nodes in MN_CLEAR_NODES, if set: e.g. a local bridge's own node). A failure is a
# tl_check_fail (the test goes on); returns 1 then.
mn_check_clear() {
	local net=$1 node=${2:-n1} drv subs s hit
	drv=$(dk "$node" network inspect -f '{{.IPAM.Driver}}' "$net" 2>/dev/null) || drv="(no such network)"
	if [ "$drv" != "$MN_IPAM" ]; then
		tl_check_fail "network $net uses IPAM driver '$drv', want $MN_IPAM"
		return 1
	fi
	subs=$(mn_subnets "$node" "$net")
	if [ -z "$subs" ]; then
		tl_check_fail "network $net has no IPv4 subnet"
		return 1
	fi
	for s in $subs; do
		if hit=$(mn_clear_of_hosts "$s"); then :; else
			tl_check_fail "network $net got subnet $s, which overlaps $(echo "$hit" | paste -sd, -)"
			return 1
		fi
	done
	tl_ok "network $net: subnet $(echo "$subs" | paste -sd' ' -) overlaps no interface or route of ${MN_CLEAR_NODES:-any node}"
}

# mn_check_disjoint [LABEL] < LINES : each input line is "NAME SUBNET"; every two subnets
# of different names must not overlap. tl_check_fail for each overlapping pair (the test
# goes on); returns 1 if there was one. Redirect a file in (a pipe would run this in a
# subshell and lose the failure record).
mn_check_disjoint() {
	local label=${1:-networks} names=() subs=() n s i j bad=0
	while read -r n s; do
		[ -n "$s" ] || continue
		names+=("$n")
		subs+=("$s")
	done
	for ((i = 0; i < ${#subs[@]}; i++)); do
		for ((j = i + 1; j < ${#subs[@]}; j++)); do
			[ "${names[i]}" != "${names[j]}" ] || continue
			if cidr_overlaps "${subs[i]}" "${subs[j]}"; then
				tl_check_fail "$label: ${names[i]} ${subs[i]} overlaps ${names[j]} ${subs[j]}"
				bad=1
			fi
		done
	done
	[ "$bad" = 0 ] || return 1
	tl_ok "$label: ${#subs[@]} subnets, no two overlap ($(for ((i = 0; i < ${#subs[@]}; i++)); do printf '%s=%s ' "${names[i]}" "${subs[i]}"; done))"
}

# _mn_refused_or_granted LEADER ID NETWORK : swarm decided on the network
_mn_refused_or_granted() {
	[ -n "$(mn_allocation_error "$1" "$2")" ] || [ -n "$(mn_subnets "$1" "$3")" ]
}

# mn_expect_refused LEADER NETWORK SUBNET [ARGS...] : `network create -d overlay
# --ipam-driver $MN_IPAM --subnet SUBNET ARGS... NETWORK` on LEADER must be refused: swarm
# allocates asynchronously, so wait up to 30 s for the "Failed allocation" line in the
# leader's log. Sets MN_REFUSAL to the driver's message. The network is removed again
# either way. Returns 1 (after tl_check_fail) when the subnet was granted instead. Call it
# in the test's shell (not in $(...)), or the failed check is lost.
MN_REFUSAL=""
mn_expect_refused() {
	local l=$1 net=$2 sub=$3 out id msg got
	shift 3
	MN_REFUSAL=""
	if ! out=$(dk "$l" network create -d overlay --ipam-driver "$MN_IPAM" --subnet "$sub" "$@" "$net" 2>&1); then
		MN_REFUSAL=$out # refused synchronously
		return 0
	fi
	id=$(echo "$out" | tail -1)
	wait_until -q 30 _mn_refused_or_granted "$l" "$id" "$net" || true
	msg=$(mn_allocation_error "$l" "$id")
	got=$(mn_subnets "$l" "$net")
	dk "$l" network rm "$net" >/dev/null 2>&1 || true
	if [ -n "$got" ] || [ -z "$msg" ]; then
		if [ -n "$got" ]; then got="granted ($got)"; else got="neither granted nor refused within 30 s"; fi
		tl_check_fail "--subnet $sub for a new network $net was $got, want a refusal"
		return 1
	fi
	MN_REFUSAL=$(echo "$msg" | grep -o 'IpamDriver.RequestPool:[^"]*' | head -1) || true
	[ -n "$MN_REFUSAL" ] || MN_REFUSAL=$msg
}

# mn_service_addrs MANAGER SERVICE : the IPv4 addresses swarm gave SERVICE (its VIPs and
# every task that should run), one per line, without prefix length
mn_service_addrs() {
	local m=$1 svc=$2 ids
	ids=$(dk "$m" service ps -q -f desired-state=running "$svc")
	{
		# shellcheck disable=SC2086  # list of task IDs
		[ -z "$ids" ] || dk "$m" inspect --type task \
			-f '{{range .NetworksAttachments}}{{range .Addresses}}{{.}} {{end}}{{end}}' $ids
		dk "$m" service inspect -f '{{range .Endpoint.VirtualIPs}}{{.Addr}} {{end}}' "$svc"
	} | tr ' ' '\n' | grep '\.' | sed 's,/.*,,'
}

# mn_service_running MANAGER SERVICE N : N replicas of SERVICE run
mn_service_running() {
	[ "$(dk "$1" service ls --filter "name=$2" --format '{{.Name}} {{.Replicas}}' |
		awk -v s="$2" '$1 == s {print $2}')" = "$3/$3" ]
}

# mn_check_unique_addrs MANAGER SERVICE... : no address is given twice among the tasks and
# VIPs of the SERVICEs (tl_check_fail naming the duplicates); returns 1 if one was
mn_check_unique_addrs() {
	local m=$1 f dup n
	shift
	f=$DK_BASE/addrs.$$
	for n in "$@"; do mn_service_addrs "$m" "$n"; done >"$f"
	dup=$(sort "$f" | uniq -d | paste -sd' ' -)
	n=$(wc -l <"$f")
	if [ -n "$dup" ]; then
		tl_check_fail "services $*: addresses given twice: $dup (of $n)"
		return 1
	fi
	tl_ok "services $*: $n addresses (tasks and VIPs), none given twice"
}
