#!/bin/bash
# SPDX-License-Identifier: MIT
# fs_nfs_backend.sh - shared/nfs_backend.c and its file helpers against a real
# nfs-ganesha (NFSv3, root_squash) in its own network namespace, from a client namespace,
# through nfsb_check:
#   * the helpers (mkdir_p, write_file_atomic, read_file, list_dir, rename, remove_tree,
#     statvfs, probe), also as uid 376 under root_squash
#   * connect and probe fail fast when nobody listens (refused) and when the server is
#     silent (dropped packets), naming server and export
# Needs root, nfs-ganesha, nftables; exits 77 otherwise.
# Usage: fs_nfs_backend.sh [PATH_TO_nfsb_check]   (default: $PROJECT_BUILD_DIR/tests/shared/nfsb_check)
set -euo pipefail
# shellcheck source=scripts/lib/ganesha.sh
. "$(dirname "$0")/../../../scripts/lib/ganesha.sh"
tl_project_dirs
require_ganesha
require_netns
check=${1:-$PROJECT_BUILD_DIR/tests/shared/nfsb_check}
[ -x "$check" ] || tl_skip "nfsb_check not built at $check"

# libnfs 4.0 leaks a little when a connect to a silent server is abandoned (see the file)
export LSAN_OPTIONS="suppressions=$(cd "$(dirname "$0")/../../lib" && pwd)/libnfs.lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
work=$(tl_tmpdir nfsb)
NFS_PORT=${NFSB_NFS_PORT:-14449} NFS_MNTPORT=${NFSB_MNT_PORT:-14450} \
	ganesha_pair "$work/g" nfsb 198.18.47
cli=$G_CLI_NS server=$G_SRV_ADDR

ns_exec "$cli" "$check" ops "$server" "$G_PSEUDO" "$G_PORT" "$G_MNTPORT" ||
	tl_fail "nfs_backend helper checks"
# a port nobody listens on: refused at once
ns_exec "$cli" "$check" dead "$server" "$G_PSEUDO" 14999 14998 || tl_fail "refused server"
tl_ok "nfs_backend control-plane helpers; a refused connect fails fast"

# connect and probe to a silent server fail within the timeout, naming server and export
ganesha_outage "$work/g" drop on
ns_exec "$cli" "$check" dead "$server" "$G_PSEUDO" "$G_PORT" "$G_MNTPORT" ||
	tl_fail "connect to a silent server"
ganesha_outage "$work/g" drop off
tl_ok "connect/probe to a silent server fail within the timeout"
