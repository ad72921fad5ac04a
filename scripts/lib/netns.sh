# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# netns.sh - network namespaces and veth pairs for tests.  Source it (bash only):
#
#     . "$PROJECT_SOURCE_DIR/scripts/lib/netns.sh"      # also sources common.sh
#     require_netns
#     a=$(ns_name a) b=$(ns_name b)                   # unique names: t<pid>-a ...
#     ns_add "$a"; ns_add "$b"                        # lo up; deleted at exit
#     ns_veth "$a" veth0 198.18.1.1/30 "$b" veth0 198.18.1.2/30
#     ns_exec "$a" ping -c1 198.18.1.2
#     ns_del "$a"                                     # early delete (idempotent)
#
# Rules (see the project brief): every address a test adds goes inside a namespace the
# test created, never in the root namespace; 192.0.2.0/24 and 203.0.113.0/24 are in use
# on the CI machine, so use 198.18.0.0/15 or 10.x / 172.x inside your namespaces.
# The kernel has no `dummy` links and no IPVS: use veth pairs. Prefer direct veth pairs
# between namespaces to bridges in the root namespace (br_netfilter + Docker's FORWARD
# DROP policy); a bridge inside a namespace of ours is fine (ns_bridge).
#
# ns_exec uses nsenter, not `ip netns exec`: the latter remounts /sys and so hides
# /sys/fs/cgroup, which breaks dockerd and anything else that needs cgroups.

# shellcheck source=scripts/lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

# ns_name BASE : a namespace name unique to this test process (t<pid>-BASE);
# TL_NS_PREFIX overrides the t<pid> part.
ns_name() { echo "${TL_NS_PREFIX:-t$$}-$1"; }

# ns_exists NAME : true if the named netns exists
ns_exists() { [ -e "/run/netns/$1" ]; }

# ns_add NAME : create netns NAME with lo up; it is deleted at exit (NS_NO_DEFER=1: not)
ns_add() {
	local ns=$1
	if ns_exists "$ns"; then
		echo "ns_add: netns $ns already exists (stale from an earlier run? ip netns del $ns)" >&2
		return 1
	fi
	ip netns add "$ns" || return 1
	[ "${NS_NO_DEFER:-0}" = 1 ] || tl_defer "ns_del '$ns'"
	ip -n "$ns" link set lo up
}

# ns_del NAME : kill what still runs in NAME (by PID), then delete it. Safe under set -e
# and for a missing namespace.
ns_del() {
	local ns=$1 pids
	ns_exists "$ns" || return 0
	pids=$(ip netns pids "$ns" 2>/dev/null | tr '\n' ' ')
	if [ -n "${pids// /}" ]; then
		# shellcheck disable=SC2086  # list of PIDs
		kill -KILL $pids 2>/dev/null || true
	fi
	ip netns del "$ns" 2>/dev/null || true
	return 0
}

# ns_exec NAME CMD ARGS... : run CMD in netns NAME (keeps the caller's mount ns and /sys)
ns_exec() {
	local ns=$1
	shift
	nsenter --net="/run/netns/$ns" -- "$@"
}

# _ns_require NAME CALLER : refuse the root namespace (empty name) and missing ones
_ns_require() {
	if [ -z "$1" ]; then
		echo "$2: refusing to touch the root network namespace" >&2
		return 1
	fi
	ns_exists "$1" || { echo "$2: no netns '$1' (ns_add it first)" >&2; return 1; }
}

# ns_addr NS IF ADDR/PFX : add an address to IF inside NS ("-" or "" adds nothing)
ns_addr() {
	_ns_require "$1" ns_addr || return 1
	case ${3:-} in "" | -) return 0 ;; esac
	ip -n "$1" addr add "$3" dev "$2"
}

# ns_veth NS1 IF1 ADDR1 NS2 IF2 ADDR2 : veth pair IF1 (in NS1) <-> IF2 (in NS2), both up,
# with ADDRn/PFX on each end ("-" = no address). Both ends live in namespaces we created.
ns_veth() {
	local ns1=$1 if1=$2 a1=$3 ns2=$4 if2=$5 a2=$6
	_ns_require "$ns1" ns_veth || return 1
	_ns_require "$ns2" ns_veth || return 1
	if [ "$ns1" = "$ns2" ]; then
		ip -n "$ns1" link add "$if1" type veth peer name "$if2" || return 1
	else
		ip -n "$ns1" link add "$if1" type veth peer name "$if2" netns "$ns2" || return 1
	fi
	ns_addr "$ns1" "$if1" "$a1" && ns_addr "$ns2" "$if2" "$a2" &&
		ip -n "$ns1" link set "$if1" up && ip -n "$ns2" link set "$if2" up
}

# ns_bridge NS BR [ADDR/PFX] : a bridge BR inside NS (up, optional address)
ns_bridge() {
	_ns_require "$1" ns_bridge || return 1
	ip -n "$1" link add "$2" type bridge && ns_addr "$1" "$2" "${3:-}" && ip -n "$1" link set "$2" up
}

# ns_bridge_port NS BR NODE_NS NODE_IF ADDR/PFX [HUB_IF] : veth from NODE_NS (NODE_IF with
# ADDR) to bridge BR in NS; the hub end is called HUB_IF (default v-NODE_IF-<n>)
ns_bridge_port() {
	local ns=$1 br=$2 nns=$3 nif=$4 addr=$5 hif=${6:-}
	if [ -z "$hif" ]; then
		hif="v$(ip -n "$ns" -o link show | wc -l)"
	fi
	ns_veth "$ns" "$hif" - "$nns" "$nif" "$addr" && ip -n "$ns" link set "$hif" master "$br"
}

# ns_route NS ROUTE-ARGS... : ip route add inside NS, e.g. ns_route n3 10.0.1.0/24 via 198.18.9.2
ns_route() {
	local ns=$1
	shift
	_ns_require "$ns" ns_route || return 1
	ip -n "$ns" route add "$@"
}

# ns_listening NS PORT [tcp|udp] : true if something listens on PORT inside NS
# (NS "" = the caller's namespace)
ns_listening() {
	local ns=$1 port=$2 proto=${3:-tcp} flag=-Hltn
	[ "$proto" = udp ] && flag=-Hlun
	if [ -n "$ns" ]; then
		ns_exec "$ns" ss "$flag" "sport = :$port" | grep -q .
	else
		ss "$flag" "sport = :$port" | grep -q .
	fi
}

# ns_can_reach NS HOST PORT : a TCP connect from NS to HOST:PORT succeeds within 2 s
# (bash /dev/tcp, no extra tools)
ns_can_reach() {
	ns_exec "$1" timeout 2 bash -c "exec 3<>/dev/tcp/$2/$3" 2>/dev/null
}

# shellcheck disable=SC2086  # split the dotted quad on purpose
_ip2int() { local IFS=.; set -- $1; echo $((($1 << 24) | ($2 << 16) | ($3 << 8) | $4)); }
_int2ip() { echo "$((($1 >> 24) & 255)).$((($1 >> 16) & 255)).$((($1 >> 8) & 255)).$(($1 & 255))"; }

# cidr_network A.B.C.D/P : the network of an IPv4 address with prefix (10.0.0.1/24 -> 10.0.0.0/24)
cidr_network() {
	local a p m
	a=$(_ip2int "${1%/*}")
	p=${1#*/}
	[ "$p" = "$1" ] && p=32
	m=$(((0xFFFFFFFF << (32 - p)) & 0xFFFFFFFF))
	echo "$(_int2ip $((a & m)))/$p"
}

# cidr_overlaps A/P B/Q : true if the two IPv4 networks share an address
cidr_overlaps() {
	local a b p q m
	a=$(_ip2int "${1%/*}") p=${1#*/}
	b=$(_ip2int "${2%/*}") q=${2#*/}
	[ "$p" = "$1" ] && p=32
	[ "$q" = "$2" ] && q=32
	[ "$q" -lt "$p" ] && p=$q
	m=$(((0xFFFFFFFF << (32 - p)) & 0xFFFFFFFF))
	[ $((a & m)) -eq $((b & m)) ]
}
