/* SPDX-License-Identifier: MIT */
/*
 * resolvconf: the host's DNS servers as host networks. A container network that covers a
 * nameserver address makes that server unreachable from its containers (their route to it
 * goes into the bridge or overlay), which is why Docker's own IPAM avoids them for local
 * networks; we avoid them for every network. Pure: the caller reads the file.
 */
#ifndef IPAM_RESOLVCONF_H
#define IPAM_RESOLVCONF_H

#include "hostnet.h"

#define RESOLVCONF_PATH "/etc/resolv.conf"

/*
 * Append one HOSTNET_NAMESERVER entry (a /32 or /128) per "nameserver ADDR" line of text
 * (NUL-terminated resolv.conf content); loopback servers and unparsable lines are
 * skipped. Returns the number appended or -ENOMEM.
 */
int resolvconf_parse(const char *text, struct hostnet_list *out);

#endif
