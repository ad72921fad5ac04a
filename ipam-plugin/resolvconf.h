/* SPDX-License-Identifier: MIT */
/*
 * resolvconf: the host's DNS servers as host networks. A container network that covers a
 * nameserver address makes that server unreachable from its containers (their route to it
 * goes into the bridge or overlay), which is why Docker's own IPAM avoids them for local
 * networks; we avoid them for every network. Pure: the caller reads the file.
 */
#ifndef IPAM_RESOLVCONF_H
#define IPAM_RESOLVCONF_H

#include <stdbool.h>

#include "hostnet.h"

#define RESOLVCONF_PATH "/etc/resolv.conf"
/* systemd-resolved's list of the upstream servers, as on the host. */
#define RESOLVCONF_RESOLVED_PATH "/run/systemd/resolve/resolv.conf"

/*
 * Append one HOSTNET_NAMESERVER entry (a /32 or /128) per "nameserver ADDR" line of text
 * (NUL-terminated resolv.conf content); loopback servers and unparsable lines are
 * skipped. Returns the number appended or -ENOMEM.
 */
int resolvconf_parse(const char *text, struct hostnet_list *out);

/*
 * Is text a systemd-resolved stub file, whose only nameserver is 127.0.0.53? Docker then
 * reads the upstream servers from RESOLVCONF_RESOLVED_PATH instead (moby
 * libnetwork/resolvconf Path()), and so do we.
 */
bool resolvconf_is_resolved_stub(const char *text);

#endif
