/* SPDX-License-Identifier: MIT */
/*
 * volume_api: the VolumeDriver protocol (docker.volumedriver/1.0, see
 * docs/plugin-protocol.md section 3) mapped onto volumes.h. Handlers only translate JSON to calls
 * and back; the context of every route is the struct volumes.
 *
 * Requests: Name (string, required), Opts (object of strings or null, Create), ID (string,
 * Mount/Unmount); other keys are ignored (dockerd may add fields). Failures answer
 * {"Err": "..."} (HTTP 500 via http_server).
 */
#ifndef VOLUME_VOLUME_API_H
#define VOLUME_VOLUME_API_H

#include <stddef.h>

#include <jansson.h>

#include "http_server.h"
#include "volumes.h"

extern const struct http_route volume_routes[];
extern const size_t volume_nroutes;

/*
 * Create's Opts (an object, null or NULL) as the options_parse input: strings borrowed
 * from opts (valid while it lives), out->v a new array the caller free()s (NULL when
 * there are none). A non-string value is kept with val NULL and anything but an object
 * or null as out->not_object, so options_parse refuses them in its own order. Returns 0
 * or -ENOMEM.
 */
int volume_api_opts(json_t *opts, struct volume_opts *out);

/* The Status object Get reports for one volume (new reference). */
json_t *volume_api_status(const struct volume_info *vi);

#endif
