# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# common.sh - shell helpers every test script uses.  Source it (bash only):
#
#     . "$PROJECT_SOURCE_DIR/scripts/lib/common.sh"
#     require_root; require_cmd ip nft ganesha.nfsd:nfs-ganesha
#     tl_defer "echo cleaning up"           # run at exit, last registered first
#     tl_on_fail "tail -20 /tmp/x/log"      # run at exit only when the test failed
#     wait_until 5 test -S /tmp/x/sock      # poll every 0.1 s, fail after 5 s
#     tl_fail "what went wrong"             # print FAIL: ... and exit 1
#     tl_check_fail "an assertion failed"   # print FAIL: ..., go on; the test fails at exit
#     tl_skip "why this cannot run here"    # print SKIP: ... and exit 77
#     tl_stop 10 "$pid" ganesha             # TERM, wait up to 10 s, then KILL
#
# Sourcing installs an EXIT trap (and INT/TERM/HUP traps that exit through it).
# Do not set your own EXIT trap: register cleanups with tl_defer instead, so every
# library (netns, ganesha, dockerd, registry) cleans up what it started, in reverse
# order, even when the test fails half-way.
#
# Exit codes: 0 pass, 1 fail, 77 skip (ctest SKIP_RETURN_CODE 77).

if [ -n "${_TL_COMMON_SH:-}" ]; then return 0; fi
_TL_COMMON_SH=1

TL_CLEANUPS=()     # commands run at exit, LIFO
TL_FAIL_HOOKS=()   # commands run at exit when the status is neither 0 nor 77
TL_STATUS=0        # exit status seen by the hooks
TL_CHECK_FAILS=()  # failed checks recorded by tl_check_fail (this shell only)
# Directories made by tl_tmpdir. It is usually called as d=$(tl_tmpdir x), in a subshell
# whose tl_defer would be lost, so the list lives in a file ($$ is the same in subshells).
TL_TMPLIST=/tmp/.tl-tmpdirs.$$

# tl_log MSG... : timestamped progress line on stderr
tl_log() { printf '[%s] %s\n' "$(date +%H:%M:%S.%3N)" "$*" >&2; }

# tl_ok MSG... : one passed check
tl_ok() { printf 'ok   %s\n' "$*"; }

# tl_fail MSG... : print FAIL and exit 1 (cleanups still run)
tl_fail() {
	printf 'FAIL: %s\n' "$*" >&2
	exit 1
}

# tl_check_fail MSG... : a failed check after which the test can still go on (so one run
# shows every check that fails, not only the first): print FAIL, remember it, return 0.
# At exit the test fails (status 1) and lists these. Call it in the test's own shell, not
# in a subshell ($(...), a pipeline): a subshell's record is lost.
tl_check_fail() {
	printf 'FAIL: %s\n' "$*" >&2
	TL_CHECK_FAILS+=("$*")
}

# tl_skip REASON... : print SKIP and exit 77 (ctest reports the test as skipped)
tl_skip() {
	printf 'SKIP: %s\n' "$*"
	exit 77
}

# tl_defer CMD : eval CMD at exit; registered last, run first
tl_defer() { TL_CLEANUPS+=("$*"); }

# tl_on_fail CMD : eval CMD at exit if the test failed (before the cleanups run)
tl_on_fail() { TL_FAIL_HOOKS+=("$*"); }

_tl_exit() {
	TL_STATUS=$?
	set +e
	trap - EXIT INT TERM HUP
	local i
	if [ ${#TL_CHECK_FAILS[@]} -gt 0 ]; then
		printf '%s check(s) failed:\n' "${#TL_CHECK_FAILS[@]}" >&2
		printf '  FAIL: %s\n' "${TL_CHECK_FAILS[@]}" >&2
		if [ "$TL_STATUS" -eq 0 ] || [ "$TL_STATUS" -eq 77 ]; then TL_STATUS=1; fi
	fi
	if [ "$TL_STATUS" -ne 0 ] && [ "$TL_STATUS" -ne 77 ]; then
		for ((i = 0; i < ${#TL_FAIL_HOOKS[@]}; i++)); do
			eval "${TL_FAIL_HOOKS[i]}"
		done
	fi
	for ((i = ${#TL_CLEANUPS[@]} - 1; i >= 0; i--)); do
		eval "${TL_CLEANUPS[i]}"
	done
	if [ -f "$TL_TMPLIST" ]; then
		local d
		while read -r d; do
			if [ "${TL_KEEP:-0}" = 1 ]; then echo "kept $d" >&2; else rm -rf "$d"; fi
		done <"$TL_TMPLIST"
		rm -f "$TL_TMPLIST"
	fi
	exit "$TL_STATUS"
}
trap _tl_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# require_root : skip unless running as root
require_root() {
	[ "$(id -u)" -eq 0 ] || tl_skip "needs root (network namespaces, mounts, daemons)"
}

# require_cmd CMD[:PACKAGE]... : skip unless every command is on PATH
# (or an absolute path that is executable); PACKAGE is named in the message.
require_cmd() {
	local spec cmd pkg
	for spec in "$@"; do
		cmd=${spec%%:*}
		pkg=${spec#*:}
		[ "$pkg" = "$spec" ] && pkg=""
		if ! command -v "$cmd" >/dev/null 2>&1; then
			tl_skip "missing command '$cmd'${pkg:+ (apt-get install $pkg)}"
		fi
	done
}

# require_netns : skip unless network namespaces can be created here
require_netns() {
	require_root
	require_cmd ip:iproute2 nsenter:util-linux unshare:util-linux
	unshare --net true 2>/dev/null || tl_skip "cannot create network namespaces (unshare --net failed)"
}

# tl_now_ms : milliseconds since the epoch, without forking
tl_now_ms() {
	local t=${EPOCHREALTIME/./}
	echo $((t / 1000))
}

# _tl_secs_to_ms SECONDS : "2", "0.5", "1.25" -> milliseconds
_tl_secs_to_ms() {
	local s=$1 int frac
	int=${s%%.*}
	frac=""
	[ "$int" != "$s" ] && frac=${s#*.}
	frac=${frac}000
	frac=${frac:0:3}
	echo $((10#${int:-0} * 1000 + 10#$frac))
}

# wait_until [-p PID] [-q] SECONDS CMD ARGS... : run CMD every 0.1 s until it succeeds.
# Fails (returns 1, with a message naming CMD and its last output) when SECONDS pass,
# or at once if PID (-p) is no longer alive. -q: no message on failure.
wait_until() {
	local pid="" quiet=0
	while [ $# -gt 0 ]; do
		case $1 in
		-p) pid=$2; shift 2 ;;
		-q) quiet=1; shift ;;
		*) break ;;
		esac
	done
	local secs=$1
	shift
	local deadline out
	deadline=$(($(tl_now_ms) + $(_tl_secs_to_ms "$secs")))
	while :; do
		if out=$("$@" 2>&1); then
			return 0
		fi
		if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
			[ "$quiet" = 1 ] || printf 'wait_until: process %s died while waiting for: %s\n' "$pid" "$*" >&2
			return 1
		fi
		if [ "$(tl_now_ms)" -ge "$deadline" ]; then
			if [ "$quiet" = 0 ]; then
				printf 'wait_until: timed out after %s s waiting for: %s\n' "$secs" "$*" >&2
				[ -n "$out" ] && printf '%s\n' "$out" | tail -5 | sed 's/^/  last output: /' >&2
			fi
			return 1
		fi
		sleep 0.1
	done
}

# tl_alive PID : PID exists and is not a zombie (a child not yet reaped still answers
# kill -0). Reads /proc, no fork, so it can be polled.
tl_alive() {
	local st
	read -r st <"/proc/$1/stat" 2>/dev/null || return 1
	st=${st##*) }
	[ "${st:0:1}" != Z ]
}

# tl_stop [-c] SECONDS PID [NAME] : stop PID with a deadline: SIGTERM, poll until it is
# gone, SIGKILL (saying so on stderr, naming NAME) when SECONDS pass. -c sends SIGCONT
# first, for a process an outage test may have stopped (a stopped process never acts on
# SIGTERM). Returns 0 whether or not PID was running, so it is safe under set -e.
tl_stop() {
	local cont=0
	if [ "$1" = -c ]; then
		cont=1
		shift
	fi
	local secs=$1 pid=$2 name=${3:-process}
	[ -n "$pid" ] && tl_alive "$pid" || return 0
	if [ "$cont" = 1 ]; then kill -CONT "$pid" 2>/dev/null || true; fi
	kill -TERM "$pid" 2>/dev/null || return 0
	if ! wait_until -q "$secs" eval "! tl_alive $pid"; then
		echo "$name $pid ignored SIGTERM for $secs s, sending SIGKILL" >&2
		kill -KILL "$pid" 2>/dev/null || true
	fi
	return 0
}

# tl_tmpdir PREFIX : print a new directory /tmp/PREFIX.XXXXXX, removed at exit
# (set TL_KEEP=1 to keep it for a post-mortem)
tl_tmpdir() {
	local d
	d=$(mktemp -d "/tmp/$1.XXXXXX")
	echo "$d" >>"$TL_TMPLIST"
	echo "$d"
}

# tl_project_dirs : set PROJECT_SOURCE_DIR / PROJECT_BUILD_DIR when ctest did not
# (source dir from this file's location, build dir = SOURCE/build)
tl_project_dirs() {
	if [ -z "${PROJECT_SOURCE_DIR:-}" ]; then
		PROJECT_SOURCE_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
	fi
	PROJECT_BUILD_DIR=${PROJECT_BUILD_DIR:-$PROJECT_SOURCE_DIR/build}
	export PROJECT_SOURCE_DIR PROJECT_BUILD_DIR
}
