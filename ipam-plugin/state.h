/* SPDX-License-Identifier: MIT */
/*
 * state: pools and their addresses on disk, one JSON file per pool under
 * <state dir>/pools/, each replaced atomically (jsonutil_save) at every change. Per-pool
 * files keep the cost of a change independent of how many other pools exist, and
 * allocated addresses are stored as runs ("10.0.0.1-10.0.0.200"), so a save grows with
 * fragmentation, not with the number of addresses.
 *
 *   {"version":1,"space":"global","pool":"10.0.1.0/24","range":"10.0.1.128/25",
 *    "chosen":true,"cursor":"10.0.1.7","allocated":["10.0.1.1","10.0.1.129-10.0.1.134"]}
 * ("chosen": picked by the driver rather than requested; "range": the SubPool)
 *
 * Encode/decode are pure; save/delete/load do the file work.
 */
#ifndef IPAM_STATE_H
#define IPAM_STATE_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "pool_allocator.h"

#define STATE_VERSION 1

/* The pool as JSON: a new reference, or NULL when out of memory. */
json_t *state_encode_pool(const struct pa_pool *p);

/*
 * Add the pool described by j to a (*out borrowed from a). Returns 0, -EEXIST (already
 * there), -EINVAL (message names the bad member) or -ENOMEM.
 */
int state_decode_pool(struct pa_allocator *a, json_t *j, struct pa_pool **out, char *err,
		      size_t errlen);

/* File name (no directory) for p, e.g. "global_10.0.1.0_24.json". Returns buf. */
char *state_file_name(const struct pa_pool *p, char *buf, size_t len);

/* Write p's file atomically (creating dir/pools). Returns 0 or -errno with a message. */
int state_save_pool(const char *dir, const struct pa_pool *p, char *err, size_t errlen);
/* Remove p's file. A missing file is fine. Returns 0 or -errno with a message. */
int state_delete_pool(const char *dir, const struct pa_pool *p, char *err, size_t errlen);

/*
 * Load every pool file of dir into a. A missing directory is an empty state. Returns the
 * number of pools loaded, or -errno with a message naming the file.
 */
int state_load(const char *dir, struct pa_allocator *a, char *err, size_t errlen);

/*
 * The node's random ULA /48 for POOLS6=auto, from dir/ula.json; when the file is missing
 * a new prefix is drawn (getrandom) and saved atomically first (*created = true), so it
 * is chosen once per node and kept across restarts and upgrades. Returns 0 or -errno
 * with a message (a file that does not hold a ULA /48 is an error, never replaced).
 */
int state_ula(const char *dir, struct cidr *out, bool *created, char *err, size_t errlen);

#endif
