// SPDX-License-Identifier: MIT
/*
 * Volume plugin request path: every VolumeDriver endpoint through the real http_server
 * (unix socket, libmicrohttpd, dispatch, handler), with a home export on a port where
 * nothing listens so NFS calls fail at once. Invariant: one well-formed JSON reply per
 * request (fuzz_http_client.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_http_client.h"
#include "http_server.h"
#include "log.h"
#include "settings.h"
#include "volume_api.h"
#include "volumes.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char sock[108];
static struct http_server *srv; /* kept: lives until the process exits */
static struct volumes *vs;
static const char *paths[] = {
	"/Plugin.Activate",   "/VolumeDriver.Capabilities", "/VolumeDriver.Create",
	"/VolumeDriver.Get",  "/VolumeDriver.List",	    "/VolumeDriver.Mount",
	"/VolumeDriver.Path", "/VolumeDriver.Remove",	    "/VolumeDriver.Unmount",
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static char dir[] = "/tmp/fuzz-volume.XXXXXX", state[256], mnt[256];
	static struct settings cfg;
	char err[1024];
	char *env[] = {"NFS_SERVER=127.0.0.1",
		       "NFS_EXPORT=/fuzz",
		       "NFS_PORT=1",
		       "NFS_MOUNT_PORT=1",
		       "NFS_TIMEOUT=1",
		       "REFRESH_INTERVAL=3600",
		       state,
		       mnt,
		       NULL};

	(void)argc;
	(void)argv;
	log_init("fuzz", getenv("FUZZ_DEBUG") ? LOG_LEVEL_DEBUG : LOG_LEVEL_ERROR);
	json_object_seed(1);
	if (!mkdtemp(dir))
		abort();
	fuzz_remove_at_exit(dir);
	snprintf(state, sizeof(state), "STATE_DIR=%s/state", dir);
	snprintf(mnt, sizeof(mnt), "MOUNT_ROOT=%s/mnt", dir);
	snprintf(sock, sizeof(sock), "%s/v.sock", dir);
	if (settings_parse(env, &cfg, err, sizeof(err)) < 0 ||
	    volumes_open(&cfg, &vs, err, sizeof(err)) < 0 ||
	    !(srv = http_server_start(sock, volume_routes, volume_nroutes, vs, err, sizeof(err)))) {
		fprintf(stderr, "fuzz_volume_http: setup: %s\n", err);
		abort();
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char url[512];
	size_t used;

	fuzz_pick_url(data, size, paths, sizeof(paths) / sizeof(paths[0]), url, sizeof(url), &used);
	fuzz_post_and_check(sock, url, data + used, size - used);
	return 0;
}
