// SPDX-License-Identifier: MIT
/*
 * volfs_tool: test driver for fuse_fs. Mounts one volume with volfs_mount() and serves it
 * until SIGTERM/SIGINT, then unmounts with volfs_unmount(). Prints "ready" on stdout once
 * mounted, and the volume's status on SIGUSR1 (one line on stdout).
 *
 *   volfs_tool -m MOUNTPOINT -s SERVER -e EXPORT [-p NFS_PORT] [-P MOUNT_PORT]
 *              [-d SUBDIR] [-t TIMEOUT_S] [-u UID] [-g GID] [-r] [-n POOL]
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuse_fs.h"
#include "log.h"

static int num(const char *s, const char *what)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < -1 || v > 65535 * 65536L) {
		fprintf(stderr, "volfs_tool: bad %s %s\n", what, s);
		exit(2);
	}
	return (int)v;
}

int main(int argc, char **argv)
{
	struct nfsb_target t = {.version = 3, .timeout_s = 5};
	struct volfs_opts o = {.uid = -1, .gid = -1, .allow_other = true, .fsname = "volfs_tool"};
	const char *mp = NULL, *subdir = "";
	struct volfs *v = NULL;
	char err[512];
	sigset_t set;
	int c, sig, ret;

	log_init("volfs_tool", LOG_LEVEL_DEBUG); /* the mount and unmount lines are debug */
	while ((c = getopt(argc, argv, "m:s:e:p:P:d:t:u:g:rn:")) != -1) {
		switch (c) {
		case 'm':
			mp = optarg;
			break;
		case 's':
			snprintf(t.server, sizeof(t.server), "%s", optarg);
			break;
		case 'e':
			snprintf(t.export, sizeof(t.export), "%s", optarg);
			break;
		case 'p':
			t.nfs_port = (unsigned int)num(optarg, "port");
			break;
		case 'P':
			t.mount_port = (unsigned int)num(optarg, "port");
			break;
		case 'd':
			subdir = optarg;
			break;
		case 't':
			t.timeout_s = (unsigned int)num(optarg, "timeout");
			break;
		case 'u':
			o.uid = num(optarg, "uid");
			break;
		case 'g':
			o.gid = num(optarg, "gid");
			break;
		case 'r':
			o.readonly = true;
			break;
		case 'n':
			o.pool_size = (unsigned int)num(optarg, "pool size");
			break;
		default:
			fprintf(stderr, "usage: volfs_tool -m MP -s SERVER -e EXPORT [-p PORT] "
					"[-P MNTPORT] [-d SUBDIR] [-t TIMEOUT] [-u UID] [-g GID] "
					"[-r] [-n POOL]\n");
			return 2;
		}
	}
	if (mp == NULL || t.server[0] == '\0' || t.export[0] == '\0') {
		fprintf(stderr, "volfs_tool: -m, -s and -e are required\n");
		return 2;
	}
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &set, NULL);

	ret = volfs_clean_mountpoint(mp, err, sizeof(err));
	if (ret < 0) {
		fprintf(stderr, "volfs_tool: %s\n", err);
		return 1;
	}
	ret = volfs_mount(mp, &t, subdir, &o, &v, err, sizeof(err));
	if (ret < 0) {
		fprintf(stderr, "volfs_tool: mount failed: %s\n", err);
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	for (;;) {
		if (sigwait(&set, &sig) != 0)
			continue;
		if (sig == SIGUSR1) {
			struct volfs_status st;

			volfs_get_status(v, &st);
			printf("status reachable=%d reconnects=%llu alive=%d error=%s\n",
			       st.reachable, (unsigned long long)st.reconnects, volfs_is_alive(v),
			       st.last_error_msg);
			fflush(stdout);
			continue;
		}
		break;
	}
	ret = volfs_unmount(v);
	return ret < 0 ? 1 : 0;
}
