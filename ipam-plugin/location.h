/* SPDX-License-Identifier: MIT */
/*
 * location: where the nodes share their networks (setting SHARED_NETWORKS), parsed.
 * Pure: settings validates with it at start, peer_sync connects with the result.
 *
 *   nfs://SERVER/EXPORT[?nfsport=N&mountport=N]   an NFS export spoken to through libnfs
 *   /a/directory                                   any directory all nodes share
 *   ""                                             off
 */
#ifndef IPAM_LOCATION_H
#define IPAM_LOCATION_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "nfs_backend.h"

struct location {
	bool nfs;		   /* the target is valid, else dir */
	struct nfsb_target target; /* nfs: server, export, ports (timeout_s left to the caller) */
	char dir[PATH_MAX];	   /* directory mode */
};

/*
 * Parse text into out. "" gives an empty dir and nfs false (off). Returns 0 or -EINVAL
 * with a message naming the value and the accepted forms.
 */
int location_parse(const char *text, struct location *out, char *err, size_t errlen);

/* Is out "off"? */
bool location_is_off(const struct location *l);

#endif
