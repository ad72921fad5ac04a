// SPDX-License-Identifier: MIT
/*
 * volume-plugin: the Docker volume driver process (managed plugin openmpf/nfs-volume).
 *
 *   volume-plugin [--socket PATH] [--state-dir DIR] [--mount-root DIR]
 *   volume-plugin --version
 *
 * Settings come from the environment (settings.h); --state-dir and --mount-root win over
 * STATE_DIR and MOUNT_ROOT. An invalid setting does not stop the process: Docker would
 * only report that the socket never appeared. Instead every volume call is answered with
 * the setting's error, so `docker volume create` shows what to fix.
 * SIGTERM or SIGINT: stop serving (running requests finish), unmount every FUSE mount
 * (the mount IDs stay recorded for the next start), exit 0.
 */
#include <errno.h>
#include <getopt.h>
#include <linux/capability.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "atomic_file.h"
#include "http_server.h"
#include "jsonutil.h"
#include "log.h"
#include "privs.h"
#include "settings.h"
#include "version.h"
#include "volume_api.h"
#include "volumes.h"

#define DEFAULT_SOCKET "/run/docker/plugins/nfsvol.sock"

extern char **environ;

struct args {
	const char *socket;
	const char *state_dir;
	const char *mount_root;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: volume-plugin [--socket PATH] [--state-dir DIR] [--mount-root DIR]\n"
		"       volume-plugin --version\n"
		"defaults: --socket %s --state-dir %s --mount-root %s\n"
		"settings (environment): NFS_SERVER NFS_EXPORT NFS_VERSION=3 NFS_PORT=0 "
		"NFS_MOUNT_PORT=0 NFS_TIMEOUT=%d REFRESH_INTERVAL=%d LOG_LEVEL=info STATE_DIR "
		"MOUNT_ROOT CATALOGUE_DIR=%s DEFAULT_UID DEFAULT_GID DEFAULT_MODE=auto\n",
		DEFAULT_SOCKET, SETTINGS_DEFAULT_STATE_DIR, SETTINGS_DEFAULT_MOUNT_ROOT,
		SETTINGS_DEFAULT_TIMEOUT, SETTINGS_DEFAULT_REFRESH, SETTINGS_DEFAULT_CATALOGUE_DIR);
}

static int parse_args(int argc, char **argv, struct args *a)
{
	static const struct option opts[] = {
		{"socket", required_argument, NULL, 's'},
		{"state-dir", required_argument, NULL, 'd'},
		{"mount-root", required_argument, NULL, 'm'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	int c;

	memset(a, 0, sizeof(*a));
	a->socket = DEFAULT_SOCKET;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			a->socket = optarg;
			break;
		case 'd':
			a->state_dir = optarg;
			break;
		case 'm':
			a->mount_root = optarg;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case 'V':
			printf("volume-plugin %s\n", OPENMPF_VERSION);
			exit(0);
		default:
			return -EINVAL;
		}
	}
	return optind == argc ? 0 : -EINVAL;
}

/* While misconfigured: every volume call gets the settings error. */
static json_t *handle_misconfigured(void *ctx, json_t *req)
{
	(void)req;
	return jsonutil_error("the volume plugin is misconfigured: %s (fix it with docker plugin "
			      "disable, docker plugin set, docker plugin enable)",
			      (const char *)ctx);
}

static json_t *handle_activate(void *ctx, json_t *req)
{
	(void)ctx;
	(void)req;
	return json_pack("{s:[s]}", "Implements", "VolumeDriver");
}

static const struct http_route misconfigured_routes[] = {
	{"/Plugin.Activate", handle_activate},
	{"/VolumeDriver.Capabilities", handle_misconfigured},
	{"/VolumeDriver.Create", handle_misconfigured},
	{"/VolumeDriver.Remove", handle_misconfigured},
	{"/VolumeDriver.Mount", handle_misconfigured},
	{"/VolumeDriver.Unmount", handle_misconfigured},
	{"/VolumeDriver.Path", handle_misconfigured},
	{"/VolumeDriver.Get", handle_misconfigured},
	{"/VolumeDriver.List", handle_misconfigured},
	{"/Preflight.Volume", handle_misconfigured},
};

static void wait_for_stop(const sigset_t *set)
{
	int sig = 0;

	while (sigwait(set, &sig) != 0)
		;
	log_info("signal %d: stopping", sig);
}

static int serve_misconfigured(const char *sock, const char *why, const sigset_t *set)
{
	struct http_server *srv;
	char err[1024];

	log_errorx("invalid setting: %s; answering every volume call with this error", why);
	srv = http_server_start(sock, misconfigured_routes,
				sizeof(misconfigured_routes) / sizeof(misconfigured_routes[0]),
				(void *)why, err, sizeof(err));
	if (!srv)
		fatalx("cannot serve on %s: %s", sock, err);
	wait_for_stop(set);
	http_server_stop(srv);
	return 0;
}

static void make_dir(const char *what, const char *dir, mode_t mode)
{
	int ret = atomic_file_mkdirs(dir, mode);

	if (ret < 0) {
		errno = -ret;
		fatal("cannot create the %s %s", what, dir);
	}
}

#define FUSECTL_DIR "/sys/fs/fuse/connections"
#define FUSECTL_SUPER_MAGIC 0x65735543

/*
 * As the managed plugin (PID 1 of its own namespaces), mount the FUSE control file
 * system, which a plugin's fresh /sys lacks: without it fuse_fs cannot abort a finished
 * or stuck session, and libfuse then tries a second umount of a detached mount and
 * prints "fuse: failed to unmount ...: Invalid argument" on stderr (an error line in
 * dockerd's log) at every last unmount. Never done outside a plugin (tests run as root
 * in the host's mount namespace).
 */
static void mount_fusectl(void)
{
	struct statfs sf;

	if (getpid() != 1)
		return;
	if (statfs(FUSECTL_DIR, &sf) == 0 && sf.f_type == FUSECTL_SUPER_MAGIC)
		return;
	if (mount("fusectl", FUSECTL_DIR, "fusectl", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		log_debug("cannot mount the FUSE control file system at %s: %s", FUSECTL_DIR,
			  errno_text(errno));
}

static int serve(const struct args *a, const struct settings *cfg, const sigset_t *set)
{
	char err[1024], line[4096];
	struct http_server *srv;
	struct volumes *vs = NULL;
	size_t nvol, nmounted;

	/* FUSE mount/umount, and a reserved source port for NFS servers with "secure". */
	static const int keep[] = {CAP_SYS_ADMIN, CAP_NET_BIND_SERVICE};

	if (access(cfg->state_dir, F_OK) < 0)
		log_info("state directory %s is new (on the host: the state mount's "
			 "source, /var/lib by default, + /openmpf-nfs-volume): first start on "
			 "this node. After a docker plugin upgrade of a plugin installed with "
			 "state.source=DIR it means the upgrade reset the source: disable, set "
			 "state.source=DIR, enable",
			 cfg->state_dir);
	make_dir("state directory", cfg->state_dir, 0700);
	make_dir("mount root", cfg->mount_root, 0755);
	mount_fusectl();
	/* Before any thread exists: threads inherit the capability sets. */
	if (privs_limit(keep, sizeof(keep) / sizeof(keep[0]), err, sizeof(err)) < 0)
		fatalx("cannot drop privileges: %s", err);
	log_info("privileges: kept %s", privs_format(line, sizeof(line)));
	log_info("settings: %s", settings_format(cfg, line, sizeof(line)));
	if (!cfg->server[0])
		log_info("no NFS_SERVER/NFS_EXPORT: every volume needs -o server= -o export=, and "
			 "the catalogue is local to this node");
	if (volumes_open(cfg, &vs, err, sizeof(err)) < 0)
		fatalx("cannot load the state from %s: %s", cfg->state_dir, err);
	volumes_count(vs, &nvol, &nmounted);
	log_info("state: %zu volumes known, %zu with mounts to re-establish", nvol, nmounted);
	srv = http_server_start(a->socket, volume_routes, volume_nroutes, vs, err, sizeof(err));
	if (!srv)
		fatalx("cannot serve on %s: %s", a->socket, err);
	log_info("volume-plugin %s serving the VolumeDriver API on %s", OPENMPF_VERSION, a->socket);
	wait_for_stop(set);
	http_server_stop(srv);
	volumes_close(vs);
	log_info("stopped; state is in %s", cfg->state_dir);
	return 0;
}

int main(int argc, char **argv)
{
	struct settings cfg;
	struct args a;
	char err[1024];
	sigset_t set;
	int ret;

	if (parse_args(argc, argv, &a) < 0) {
		usage(stderr);
		return 2;
	}
	/* Block the stop signals before any thread exists, so that only sigwait sees them. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	json_object_seed(0);

	ret = settings_parse(environ, &cfg, err, sizeof(err));
	if (ret < 0) {
		log_init("volume-plugin", LOG_LEVEL_INFO);
		return serve_misconfigured(a.socket, err, &set);
	}
	if (a.state_dir)
		snprintf(cfg.state_dir, sizeof(cfg.state_dir), "%s", a.state_dir);
	if (a.mount_root)
		snprintf(cfg.mount_root, sizeof(cfg.mount_root), "%s", a.mount_root);
	log_init("volume-plugin", cfg.log_level);
	return serve(&a, &cfg, &set);
}
