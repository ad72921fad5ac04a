// SPDX-License-Identifier: MIT
/*
 * API test of the volume plugin: the real binary on temporary sockets, state directories
 * and mount roots, spoken to over AF_UNIX as dockerd does, against a real nfs-ganesha
 * (NFSv3, root_squash) started here with scripts/lib/ganesha.sh. Never a mock.
 *
 * Covers every endpoint and its error paths, the catalogue on the export, uid/gid/mode,
 * adoption of existing data, read-only volumes, nested and concurrent mounts with
 * repeated IDs, a second plugin instance (a second "node") that lists and mounts a volume
 * it never created, on_remove keep/delete, restart-and-reload after SIGTERM and SIGKILL,
 * outages (server killed, server frozen), and NFS_VERSION=4 refused.
 *
 * Needs root, /dev/fuse and nfs-ganesha(-vfs) + rpcbind; exits 77 saying why otherwise.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "testlib.h"

#define NFS_PORT "16049"
#define NFS_MNTPORT "16050"
#define TIMEOUT_S 2
#define WATCHDOG_S 240

struct plugin {
	const char *name;
	pid_t pid;
	char sock[512], state[512], mnt[512], log[512];
	char *env[16];
};

static char *work;
static char gdir[512], export_dir[512];
static bool ganesha_started;
static struct plugin node1 = {.name = "node1"}, node2 = {.name = "node2"}, v4 = {.name = "v4"},
		     node3 = {.name = "node3"};

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void tail_log(const struct plugin *p)
{
	char cmd[1024];

	if (!p->log[0])
		return;
	fprintf(stderr, "--- last lines of %s's log (%s)\n", p->name, p->log);
	snprintf(cmd, sizeof(cmd), "tail -25 '%s' >&2", p->log);
	if (system(cmd) != 0)
		fprintf(stderr, "(no log)\n");
}

static void failf(int line, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));
static void failf(int line, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "FAIL (line %d): ", line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	tail_log(&node1);
	tail_log(&node2);
	exit(1);
}

#define CHECK(cond, ...)                                                                           \
	do {                                                                                       \
		if (!(cond))                                                                       \
			failf(__LINE__, __VA_ARGS__);                                              \
	} while (0)

static void ok(const char *what)
{
	printf("ok   %s\n", what);
	fflush(stdout);
}

/* Run a command in bash with scripts/lib/ganesha.sh sourced. Returns the exit status. */
static int gsh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int gsh(const char *fmt, ...)
{
	char inner[2048], cmd[4096];
	va_list ap;
	int st;

	va_start(ap, fmt);
	vsnprintf(inner, sizeof(inner), fmt, ap);
	va_end(ap);
	snprintf(cmd, sizeof(cmd), "bash -c '. \"%s/scripts/lib/ganesha.sh\" && %s' >&2",
		 PROJECT_SOURCE_DIR, inner);
	st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
}

static void plugin_start(struct plugin *p, const char *const *extra)
{
	char *argv[] = {VOLUME_PLUGIN_BIN, "--socket",	   p->sock, "--state-dir",
			p->state,	   "--mount-root", p->mnt,  NULL};
	static const char *const base[] = {"NFS_SERVER=127.0.0.1", "NFS_EXPORT=/export",
					   "NFS_PORT=" NFS_PORT,   "NFS_MOUNT_PORT=" NFS_MNTPORT,
					   "LOG_LEVEL=debug",	   "REFRESH_INTERVAL=1",
					   "NFS_TIMEOUT=2",	   NULL};
	size_t n = 0;

	if (!p->sock[0]) {
		snprintf(p->sock, sizeof(p->sock), "%s/%s.sock", work, p->name);
		snprintf(p->state, sizeof(p->state), "%s/%s-state", work, p->name);
		snprintf(p->mnt, sizeof(p->mnt), "%s/%s-mnt", work, p->name);
		snprintf(p->log, sizeof(p->log), "%s/%s.log", work, p->name);
	}
	for (size_t i = 0; base[i]; i++)
		p->env[n++] = (char *)base[i];
	for (size_t i = 0; extra && extra[i]; i++)
		p->env[n++] = (char *)extra[i];
	p->env[n] = NULL;
	unlink(p->sock);
	p->pid = tl_spawn(argv, p->env, p->log);
	CHECK(p->pid > 0, "spawn %s", VOLUME_PLUGIN_BIN);
	CHECK(tl_wait_until(10000, p->pid, tl_socket_ready, p->sock),
	      "%s: socket %s not ready within 10 s", p->name, p->sock);
}

/* Stop with sig; returns the wait status. */
static int plugin_stop(struct plugin *p, int sig)
{
	int st;

	if (p->pid <= 0)
		return -1;
	st = tl_stop(p->pid, sig, 15000);
	p->pid = 0;
	return st;
}

static bool is_mounted(const char *mp)
{
	char line[4096], a[1024];
	bool found = false;
	FILE *f = fopen("/proc/self/mountinfo", "r");

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		/* id parent maj:min root mountpoint ... */
		if (sscanf(line, "%*s %*s %*s %*s %1023s", a) == 1 && strcmp(a, mp) == 0)
			found = true;
	}
	fclose(f);
	return found;
}

static void cleanup(void)
{
	struct plugin *all[] = {&node1, &node2, &v4, &node3};
	char cmd[1024];

	for (size_t i = 0; i < 4; i++) {
		plugin_stop(all[i], SIGTERM);
		if (all[i]->mnt[0]) {
			/* Leftovers of a failed run (a killed plugin leaves dead FUSE mounts). */
			snprintf(cmd, sizeof(cmd),
				 "awk '{print $5}' /proc/self/mountinfo | grep '^%s/' | "
				 "xargs -r -n1 umount -l 2>/dev/null",
				 all[i]->mnt);
			if (system(cmd) != 0)
				fprintf(stderr, "cleanup: umount failed\n");
		}
	}
	if (ganesha_started)
		gsh("ganesha_stop \"%s\"", gdir);
	if (work && !getenv("KEEP_WORK"))
		tl_rmtree(work);
}

/* ---- HTTP helpers ---- */

static json_t *call(struct plugin *p, const char *path, const char *body, int *status)
{
	int st = -1;
	json_t *j = tl_call(p->sock, path, body, &st);

	if (status)
		*status = st;
	return j;
}

static const char *err_of(json_t *j)
{
	const char *e = json_string_value(json_object_get(j, "Err"));

	return e ? e : "";
}

/* POST and expect HTTP 200 without Err; returns the reply (caller decrefs). */
static json_t *expect_ok_(int line, struct plugin *p, const char *path, const char *body)
{
	int st;
	json_t *j = call(p, path, body, &st);

	if (st != 200 || !j || *err_of(j)) {
		char *t = j ? json_dumps(j, 0) : NULL;

		failf(line, "%s %s %s: status %d, reply %s", p->name, path, body, st,
		      t ? t : "(not JSON)");
	}
	return j;
}
#define expect_ok(p, path, body) expect_ok_(__LINE__, p, path, body)

/* POST and expect HTTP 500 with an Err containing every NULL-terminated substring. */
static void expect_err_(int line, struct plugin *p, const char *path, const char *body, ...)
{
	const char *want;
	va_list ap;
	int st;
	json_t *j = call(p, path, body, &st);

	if (st != 500 || !j || !*err_of(j))
		failf(line, "%s %s %s: want an Err with status 500, got status %d, %s", p->name,
		      path, body, st, j ? "no Err" : "no JSON");
	va_start(ap, body);
	while ((want = va_arg(ap, const char *))) {
		if (!strstr(err_of(j), want))
			failf(line, "%s %s %s: Err \"%s\" lacks \"%s\"", p->name, path, body,
			      err_of(j), want);
	}
	va_end(ap);
	json_decref(j);
}
#define expect_err(p, path, ...) expect_err_(__LINE__, p, path, __VA_ARGS__, NULL)

static void okcall(struct plugin *p, const char *path, const char *body)
{
	json_decref(expect_ok(p, path, body));
}

/* Mount and return the mountpoint (static buffer per call site is enough here). */
static void mount_vol(struct plugin *p, const char *name, const char *id, char *mp, size_t len)
{
	char body[512];
	json_t *j;

	snprintf(body, sizeof(body), "{\"Name\":\"%s\",\"ID\":\"%s\"}", name, id);
	j = expect_ok(p, "/VolumeDriver.Mount", body);
	snprintf(mp, len, "%s", json_string_value(json_object_get(j, "Mountpoint")));
	json_decref(j);
}

static void unmount_vol(struct plugin *p, const char *name, const char *id)
{
	char body[512];

	snprintf(body, sizeof(body), "{\"Name\":\"%s\",\"ID\":\"%s\"}", name, id);
	okcall(p, "/VolumeDriver.Unmount", body);
}

static json_t *get_status(struct plugin *p, const char *name)
{
	char body[512];
	json_t *j, *st;

	snprintf(body, sizeof(body), "{\"Name\":\"%s\"}", name);
	j = expect_ok(p, "/VolumeDriver.Get", body);
	st = json_incref(json_object_get(json_object_get(j, "Volume"), "Status"));
	json_decref(j);
	CHECK(json_is_object(st), "Get %s: no Status object", name);
	return st;
}

static bool list_has(struct plugin *p, const char *name)
{
	json_t *j = expect_ok(p, "/VolumeDriver.List", "{}\n"), *v;
	bool found = false;
	size_t i;

	json_array_foreach(json_object_get(j, "Volumes"), i, v) {
		if (strcmp(json_string_value(json_object_get(v, "Name")), name) == 0)
			found = true;
	}
	json_decref(j);
	return found;
}

static void write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	CHECK(fd >= 0, "open %s for writing: %s", path, strerror(errno));
	CHECK(write(fd, text, strlen(text)) == (ssize_t)strlen(text), "write %s: %s", path,
	      strerror(errno));
	CHECK(close(fd) == 0, "close %s: %s", path, strerror(errno));
}

static bool read_file(const char *path, char *buf, size_t len)
{
	ssize_t n;
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		return false;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return false;
	buf[n] = '\0';
	return true;
}

static void backing(char *buf, size_t len, const char *rel)
{
	snprintf(buf, len, "%s/%s", export_dir, rel);
}

/* ---- tests ---- */

static void test_handshake(void)
{
	json_t *j, *want = json_pack("{s:[s]}", "Implements", "VolumeDriver");
	struct stat sst;
	int st;

	j = call(&node1, "/Plugin.Activate", NULL, &st);
	CHECK(st == 200 && json_equal(j, want), "Activate");
	json_decref(j);
	json_decref(want);
	j = expect_ok(&node1, "/VolumeDriver.Capabilities", "{}\n");
	CHECK(strcmp(json_string_value(
			     json_object_get(json_object_get(j, "Capabilities"), "Scope")),
		     "global") == 0,
	      "Capabilities scope");
	json_decref(j);
	j = expect_ok(&node1, "/VolumeDriver.List", "{}\n");
	CHECK(json_array_size(json_object_get(j, "Volumes")) == 0, "List not empty at start");
	json_decref(j);
	j = call(&node1, "/VolumeDriver.Nonsense", "{}", &st);
	CHECK(st == 404, "unknown endpoint: status %d", st);
	json_decref(j);
	{
		/* Least privilege: only CAP_SYS_ADMIN and CAP_NET_BIND_SERVICE, in every set,
		 * and no exec can regain more. */
		char path[64], line[256];
		int found = 0;
		FILE *f;

		snprintf(path, sizeof(path), "/proc/%d/status", (int)node1.pid);
		f = fopen(path, "r");
		CHECK(f, "open %s", path);
		while (fgets(line, sizeof(line), f)) {
			if (!strncmp(line, "CapEff:", 7) || !strncmp(line, "CapPrm:", 7) ||
			    !strncmp(line, "CapBnd:", 7)) {
				CHECK(strstr(line, "0000000000200400"), "capabilities: %s", line);
				found++;
			}
			if (!strncmp(line, "CapInh:", 7) || !strncmp(line, "CapAmb:", 7)) {
				CHECK(strstr(line, "0000000000000000"), "capabilities: %s", line);
				found++;
			}
			if (!strncmp(line, "NoNewPrivs:", 11)) {
				CHECK(strstr(line, "1"), "%s", line);
				found++;
			}
		}
		fclose(f);
		CHECK(found == 6, "capability lines in %s: %d", path, found);
		CHECK(stat(node1.sock, &sst) == 0 && (sst.st_mode & 0777) == 0660, "socket mode %o",
		      (unsigned)(sst.st_mode & 0777));
	}
	ok("Activate, Capabilities (global), empty List, 404 for unknown endpoints; only "
	   "CAP_SYS_ADMIN and CAP_NET_BIND_SERVICE kept, no_new_privs, socket 0660");
}

static void test_bad_requests(void)
{
	char raw[512];
	int st;
	char *resp = NULL;

	/* Malformed JSON, sent raw as dockerd would send a body. */
	snprintf(raw, sizeof(raw),
		 "POST /VolumeDriver.Create HTTP/1.1\r\nHost: \r\nContent-Length: "
		 "8\r\n\r\n{\"Name\":");
	st = tl_http_raw(node1.sock, raw, strlen(raw), &resp);
	CHECK(st == 500 && resp && strstr(resp, "\"Err\""), "bad JSON: status %d %s", st,
	      resp ? resp : "");
	free(resp);
	expect_err(&node1, "/VolumeDriver.Create", "{}", "Name");
	expect_err(&node1, "/VolumeDriver.Create", "{\"Name\":5}", "Name", "string");
	expect_err(&node1, "/VolumeDriver.Create", "{\"Name\":\"v\",\"Opts\":\"x\"}", "Opts");
	expect_err(&node1, "/VolumeDriver.Create", "{\"Name\":\"vx\",\"Opts\":{\"uid\":376}}",
		   "uid", "string");
	expect_err(&node1, "/VolumeDriver.Create", "{\"Name\":\"vx\",\"Opts\":{\"size\":\"1G\"}}",
		   "unknown option \"size\"",
		   "accepted options: server, export, subdir, uid, gid, mode, readonly, on_remove");
	expect_err(&node1, "/VolumeDriver.Create", "{\"Name\":\"vx\",\"Opts\":{\"mode\":\"999\"}}",
		   "mode=999", "octal");
	expect_err(&node1, "/VolumeDriver.Create",
		   "{\"Name\":\"vx\",\"Opts\":{\"on_remove\":\"shred\"}}", "keep or delete");
	expect_err(&node1, "/VolumeDriver.Create", "{\"Name\":\"a/b\"}", "volume name \"a/b\"",
		   "[a-zA-Z0-9][a-zA-Z0-9_.-]+");
	expect_err(&node1, "/VolumeDriver.Create", "{\"Name\":\"..\"}", "volume name");
	expect_err(&node1, "/VolumeDriver.Create", "{\"Name\":\"x\"}", "volume name");
	expect_err(&node1, "/VolumeDriver.Create",
		   "{\"Name\":\"vx\",\"Opts\":{\"subdir\":\"../etc\"}}", "'..' is not accepted");
	expect_err(&node1, "/VolumeDriver.Create",
		   "{\"Name\":\"vx\",\"Opts\":{\"subdir\":\"/a/../../../etc\"}}", "'..'");
	expect_err(&node1, "/VolumeDriver.Create",
		   "{\"Name\":\"vx\",\"Opts\":{\"subdir\":\".openmpf-volumes\"}}", "catalogue");
	expect_err(&node1, "/VolumeDriver.Create",
		   "{\"Name\":\"vx\",\"Opts\":{\"export\":\"relative\"}}", "absolute");
	expect_err(&node1, "/VolumeDriver.Mount", "{\"Name\":\"vx\"}", "ID");
	expect_err(&node1, "/VolumeDriver.Mount", "{\"Name\":\"vx\",\"ID\":[]}", "ID");
	expect_err(&node1, "/VolumeDriver.Get", "{\"Name\":\"nosuch\"}", "no such volume: nosuch");
	expect_err(&node1, "/VolumeDriver.Path", "{\"Name\":\"nosuch\"}", "no such volume");
	expect_err(&node1, "/VolumeDriver.Mount", "{\"Name\":\"nosuch\",\"ID\":\"i1\"}",
		   "no such volume");
	/* Docker may replay these after restarts: they succeed. */
	okcall(&node1, "/VolumeDriver.Unmount", "{\"Name\":\"nosuch\",\"ID\":\"i1\"}");
	/* Names and IDs from the request are logged on one line each, escaped. */
	okcall(&node1, "/VolumeDriver.Unmount",
	       "{\"Name\":\"x\\nvolume-plugin: error: forged\",\"ID\":\"i\\rvolume-plugin: error: "
	       "forged\\u001b[2K\"}");
	expect_err(&node1, "/VolumeDriver.Create",
		   "{\"Name\":\"x\\nvolume-plugin: error: forged\"}", "\\nvolume-plugin");
	{
		char cmd[1200];

		snprintf(cmd, sizeof(cmd), "grep -q '^volume-plugin: error: forged' '%s'",
			 node1.log);
		CHECK(system(cmd) != 0, "a forged line reached node1's log");
		snprintf(cmd, sizeof(cmd),
			 "grep -qF 'Unmount of unknown mount ID i\\rvolume-plugin: error: "
			 "forged\\x1b[2K' '%s'",
			 node1.log);
		CHECK(system(cmd) == 0, "the Unmount ID is not logged escaped on one line");
	}
	okcall(&node1, "/VolumeDriver.Remove", "{\"Name\":\"nosuch\"}");
	/* Nothing of the refused ones reached the export. */
	CHECK(access(export_dir, F_OK) == 0, "export dir");
	{
		char p[1024];

		backing(p, sizeof(p), "vx");
		CHECK(access(p, F_OK) != 0, "a refused Create made %s", p);
	}
	ok("bad JSON, wrong types, missing Name/ID, unknown options, bad values, bad names and "
	   "subdir escapes are refused with the accepted values named; unknown Unmount/Remove "
	   "succeed");
}

static void test_create(void)
{
	char p[1024], buf[256];
	struct stat st;
	json_t *s, *j;

	/* Defaults: only the driver named (Opts null), subdir = name, mode 1777 (auto, no uid). */
	okcall(&node1, "/VolumeDriver.Create", "{\"Name\":\"plain\",\"Opts\":null}\n");
	backing(p, sizeof(p), "plain");
	CHECK(stat(p, &st) == 0 && S_ISDIR(st.st_mode), "no directory %s", p);
	CHECK((st.st_mode & 07777) == 01777, "plain: mode %o, want 1777", st.st_mode & 07777);
	backing(p, sizeof(p), ".openmpf-volumes/plain.json");
	CHECK(read_file(p, buf, sizeof(buf)) && strstr(buf, "\"Subdir\": \"plain\""),
	      "catalogue file %s", p);
	/* Idempotent with the same options, also spelled differently. */
	okcall(&node1, "/VolumeDriver.Create", "{\"Name\":\"plain\",\"Opts\":{}}");
	okcall(&node1, "/VolumeDriver.Create",
	       "{\"Name\":\"plain\",\"Opts\":{\"subdir\":\"/plain/\",\"mode\":\"1777\"}}");
	expect_err(&node1, "/VolumeDriver.Create",
		   "{\"Name\":\"plain\",\"Opts\":{\"uid\":\"376\",\"readonly\":\"true\"}}",
		   "already exists with other options", "uid \"none\" (existing) vs \"376\"",
		   "readonly \"false\" (existing) vs \"true\"");

	/* uid/gid/mode and a nested subdir, made as 376 under root_squash. */
	okcall(&node1, "/VolumeDriver.Create",
	       "{\"Name\":\"owned\",\"Opts\":{\"uid\":\"376\",\"gid\":\"376\",\"mode\":\"0750\","
	       "\"subdir\":\"mpf/share\"}}");
	backing(p, sizeof(p), "mpf/share");
	CHECK(stat(p, &st) == 0 && st.st_uid == 376 && st.st_gid == 376 &&
		      (st.st_mode & 07777) == 0750,
	      "owned: %s is %u:%u %o, want 376:376 0750", p, st.st_uid, st.st_gid,
	      st.st_mode & 07777);

	/* Existing data is adopted, never cleared. */
	backing(p, sizeof(p), "legacy");
	CHECK(mkdir(p, 0777) == 0, "mkdir %s", p);
	backing(p, sizeof(p), "legacy/keep.txt");
	write_file(p, "old data\n");
	okcall(&node1, "/VolumeDriver.Create",
	       "{\"Name\":\"adopt\",\"Opts\":{\"subdir\":\"legacy\"}}");
	CHECK(read_file(p, buf, sizeof(buf)) && strcmp(buf, "old data\n") == 0,
	      "adopted data changed");

	s = get_status(&node1, "owned");
	CHECK(strcmp(json_string_value(json_object_get(s, "Server")), "127.0.0.1") == 0 &&
		      strcmp(json_string_value(json_object_get(s, "Export")), "/export") == 0 &&
		      strcmp(json_string_value(json_object_get(s, "Subdir")), "/mpf/share") == 0 &&
		      json_integer_value(json_object_get(s, "NFSVersion")) == 3 &&
		      json_integer_value(json_object_get(s, "Uid")) == 376 &&
		      strcmp(json_string_value(json_object_get(s, "Mode")), "0750") == 0 &&
		      json_integer_value(json_object_get(s, "MountCallsOnThisNode")) == 0,
	      "Status of owned: %s", json_dumps(s, 0));
	json_decref(s);
	j = expect_ok(&node1, "/VolumeDriver.Get", "{\"Name\":\"owned\"}");
	CHECK(json_string_value(json_object_get(json_object_get(j, "Volume"), "CreatedAt")),
	      "Get: no CreatedAt");
	CHECK(!json_object_get(json_object_get(j, "Volume"), "Mountpoint"),
	      "Get: a Mountpoint before any Mount");
	json_decref(j);
	j = expect_ok(&node1, "/VolumeDriver.Path", "{\"Name\":\"owned\"}");
	CHECK(strcmp(json_string_value(json_object_get(j, "Mountpoint")), "") == 0,
	      "Path before Mount");
	json_decref(j);
	CHECK(list_has(&node1, "plain") && list_has(&node1, "owned") && list_has(&node1, "adopt"),
	      "List lacks a created volume");
	/* Capacity and reachability appear once the background check ran. */
	for (long long end = now_ms() + 5000;;) {
		s = get_status(&node1, "plain");
		if (json_is_true(json_object_get(s, "Reachable")) &&
		    json_integer_value(json_object_get(s, "ExportCapacityBytes")) > 0)
			break;
		CHECK(now_ms() < end, "Status never showed Reachable and ExportCapacityBytes: %s",
		      json_dumps(s, 0));
		json_decref(s);
		usleep(100000);
	}
	CHECK(json_is_string(json_object_get(s, "PluginVersion")) &&
		      strcmp(json_string_value(json_object_get(s, "PluginVersion")),
			     PROJECT_VERSION) == 0,
	      "Status.PluginVersion is not %s: %s", PROJECT_VERSION, json_dumps(s, 0));
	json_decref(s);
	ok("Create: settings defaults, catalogue file on the export, idempotent re-create, "
	   "conflicting re-create names the differences, uid/gid/mode under root_squash, "
	   "existing data adopted; Get Status, Path, List");
}

static void test_mount(void)
{
	char mp[512], mp2[512], p[1024], buf[256];
	json_t *j, *s;

	mount_vol(&node1, "plain", "id-a", mp, sizeof(mp));
	snprintf(p, sizeof(p), "%s/plain", node1.mnt);
	CHECK(strcmp(mp, p) == 0, "mountpoint %s, want %s", mp, p);
	CHECK(is_mounted(mp), "%s is not a mount", mp);
	snprintf(p, sizeof(p), "%s/hello.txt", mp);
	write_file(p, "hello from node1\n");
	backing(p, sizeof(p), "plain/hello.txt");
	CHECK(read_file(p, buf, sizeof(buf)) && strcmp(buf, "hello from node1\n") == 0,
	      "file written through FUSE not on the export");
	/* The same ID again (docker cp on a running container), and another container. */
	mount_vol(&node1, "plain", "id-a", mp2, sizeof(mp2));
	CHECK(strcmp(mp, mp2) == 0, "second mount elsewhere");
	mount_vol(&node1, "plain", "id-b", mp2, sizeof(mp2));
	s = get_status(&node1, "plain");
	CHECK(json_integer_value(json_object_get(s, "MountCallsOnThisNode")) == 3 &&
		      json_integer_value(json_object_get(s, "ContainersOnThisNode")) == 2,
	      "mount counts: %s", json_dumps(s, 0));
	json_decref(s);
	j = expect_ok(&node1, "/VolumeDriver.Get", "{\"Name\":\"plain\"}");
	CHECK(strcmp(json_string_value(json_object_get(json_object_get(j, "Volume"), "Mountpoint")),
		     mp) == 0,
	      "Get Mountpoint");
	json_decref(j);
	j = expect_ok(&node1, "/VolumeDriver.Path", "{\"Name\":\"plain\"}");
	CHECK(strcmp(json_string_value(json_object_get(j, "Mountpoint")), mp) == 0, "Path");
	json_decref(j);
	expect_err(&node1, "/VolumeDriver.Remove", "{\"Name\":\"plain\"}", "in use on this node");
	unmount_vol(&node1, "plain", "id-a");
	unmount_vol(&node1, "plain", "id-b");
	CHECK(is_mounted(mp), "unmounted while id-a still holds a mount");
	unmount_vol(&node1, "plain", "id-unknown");
	CHECK(is_mounted(mp), "unknown ID unmounted it");
	unmount_vol(&node1, "plain", "id-a");
	CHECK(!is_mounted(mp), "still mounted after the last Unmount");
	unmount_vol(&node1, "plain", "id-a");
	j = expect_ok(&node1, "/VolumeDriver.Path", "{\"Name\":\"plain\"}");
	CHECK(strcmp(json_string_value(json_object_get(j, "Mountpoint")), "") == 0,
	      "Path after the last Unmount");
	json_decref(j);

	/* Read-only volume: reads work, writes get EROFS. */
	okcall(&node1, "/VolumeDriver.Create",
	       "{\"Name\":\"ro\",\"Opts\":{\"subdir\":\"plain\",\"readonly\":\"true\"}}");
	mount_vol(&node1, "ro", "r1", mp, sizeof(mp));
	snprintf(p, sizeof(p), "%s/hello.txt", mp);
	CHECK(read_file(p, buf, sizeof(buf)) && strcmp(buf, "hello from node1\n") == 0,
	      "read through the read-only volume");
	snprintf(p, sizeof(p), "%s/new.txt", mp);
	CHECK(open(p, O_WRONLY | O_CREAT, 0644) < 0 && errno == EROFS,
	      "write to a read-only volume: %s", strerror(errno));
	unmount_vol(&node1, "ro", "r1");
	ok("Mount/Unmount counted per (name, ID) with nesting, shared FUSE mount, data on the "
	   "export, Remove refused while mounted, unknown ID unmount is a no-op, read-only");
}

struct conc {
	int idx;
	int failures;
	char mp[512];
};

static void *conc_worker(void *arg)
{
	struct conc *c = arg;
	char body[256], id[32];

	for (int i = 0; i < 10; i++) {
		json_t *j;
		int st;

		/* Three IDs shared by eight workers: repeated IDs nest. */
		snprintf(id, sizeof(id), "cid-%d", (c->idx + i) % 3);
		snprintf(body, sizeof(body), "{\"Name\":\"conc\",\"ID\":\"%s\"}", id);
		j = call(&node1, "/VolumeDriver.Mount", body, &st);
		if (st != 200 || !json_string_value(json_object_get(j, "Mountpoint")))
			c->failures++;
		else
			snprintf(c->mp, sizeof(c->mp), "%s",
				 json_string_value(json_object_get(j, "Mountpoint")));
		json_decref(j);
		j = call(&node1, "/VolumeDriver.Unmount", body, &st);
		if (st != 200)
			c->failures++;
		json_decref(j);
	}
	return NULL;
}

static void test_concurrent(void)
{
	struct conc c[8];
	pthread_t t[8];
	char mp[512];
	json_t *s;

	okcall(&node1, "/VolumeDriver.Create", "{\"Name\":\"conc\"}");
	/* One long-lived mount keeps FUSE up for part of the run; then all race on 0<->1. */
	for (int round = 0; round < 2; round++) {
		if (round == 0)
			mount_vol(&node1, "conc", "holder", mp, sizeof(mp));
		for (int i = 0; i < 8; i++) {
			c[i] = (struct conc){.idx = i};
			CHECK(pthread_create(&t[i], NULL, conc_worker, &c[i]) == 0, "thread");
		}
		for (int i = 0; i < 8; i++) {
			pthread_join(t[i], NULL);
			CHECK(c[i].failures == 0, "round %d worker %d: %d failed calls", round, i,
			      c[i].failures);
			CHECK(strcmp(c[i].mp, c[0].mp) == 0, "workers got different mountpoints");
		}
		if (round == 0) {
			CHECK(is_mounted(mp), "holder's mount went away");
			unmount_vol(&node1, "conc", "holder");
		}
		CHECK(!is_mounted(c[0].mp), "round %d: still mounted after every Unmount", round);
		s = get_status(&node1, "conc");
		CHECK(json_integer_value(json_object_get(s, "MountCallsOnThisNode")) == 0,
		      "round %d: mounts left: %s", round, json_dumps(s, 0));
		json_decref(s);
	}
	ok("8 concurrent clients x 10 Mount/Unmount pairs on 3 repeated IDs, with and without "
	   "a long-lived mount: counts end at 0 and FUSE stops");
}

/* node2's log contains the text arg. */
static bool log_says(void *arg)
{
	char cmd[1024];

	snprintf(cmd, sizeof(cmd), "grep -qF '%s' '%s'", (const char *)arg, node2.log);
	return system(cmd) == 0;
}

static void test_second_node(void)
{
	char mp[512], p[1024], buf[256];
	json_t *s;

	plugin_start(&node2, NULL);
	/* Node 2 never saw Create: Get looks the catalogue up. */
	s = get_status(&node2, "plain");
	CHECK(strcmp(json_string_value(json_object_get(s, "Subdir")), "/plain") == 0,
	      "node2 Get plain: %s", json_dumps(s, 0));
	json_decref(s);
	/* List from the background catalogue read. */
	for (long long end = now_ms() + 5000; !list_has(&node2, "owned");) {
		CHECK(now_ms() < end, "node2's List never showed 'owned'");
		usleep(100000);
	}
	mount_vol(&node2, "plain", "n2-a", mp, sizeof(mp));
	snprintf(p, sizeof(p), "%s/hello.txt", mp);
	CHECK(read_file(p, buf, sizeof(buf)) && strcmp(buf, "hello from node1\n") == 0,
	      "node2 reads what node1 wrote: %s", buf);
	snprintf(p, sizeof(p), "%s/from2.txt", mp);
	write_file(p, "hello from node2\n");
	unmount_vol(&node2, "plain", "n2-a");
	/* Mount on node2 of a volume it has not heard of yet at all. */
	okcall(&node1, "/VolumeDriver.Create",
	       "{\"Name\":\"late\",\"Opts\":{\"subdir\":\"plain\"}}");
	mount_vol(&node2, "late", "n2-b", mp, sizeof(mp));
	snprintf(p, sizeof(p), "%s/from2.txt", mp);
	CHECK(read_file(p, buf, sizeof(buf)) && strcmp(buf, "hello from node2\n") == 0,
	      "node2 late mount");
	unmount_vol(&node2, "late", "n2-b");
	/* Removed on node1: node2 forgets it at its next refresh. */
	okcall(&node1, "/VolumeDriver.Remove", "{\"Name\":\"late\"}");
	for (long long end = now_ms() + 5000; list_has(&node2, "late");) {
		CHECK(now_ms() < end, "node2 still lists 'late' 5 s after its removal");
		usleep(100000);
	}
	/* A damaged definition on the export: node2 keeps what it knows about the volume. */
	{
		char def[1024], saved[4096];

		backing(def, sizeof(def), ".openmpf-volumes/owned.json");
		CHECK(read_file(def, saved, sizeof(saved)), "read %s", def);
		write_file(def, "{garbage");
		CHECK(tl_wait_until(5000, node2.pid, log_says,
				    "cannot use .openmpf-volumes/owned.json"),
		      "node2 never reported the damaged definition");
		CHECK(list_has(&node2, "owned"),
		      "node2 dropped a volume whose definition is damaged");
		json_decref(get_status(&node2, "owned"));
		write_file(def, saved);
	}
	ok("second plugin instance (other state dir): Get and List show volumes it never "
	   "created, it mounts them and reads node1's data; removal on node1 reaches it; a damaged "
	   "definition on the export does not make it forget the volume");
}

/* Lines of p's log that contain text (a grep -c). */
static int log_count(const struct plugin *p, const char *text)
{
	char cmd[1024], out[32] = "";
	FILE *f;

	snprintf(cmd, sizeof(cmd), "grep -cF -- '%s' '%s'", text, p->log);
	f = popen(cmd, "r");
	CHECK(f, "popen");
	if (!fgets(out, sizeof(out), f))
		out[0] = '\0';
	pclose(f);
	return atoi(out);
}

/*
 * The catalogue is input: hand-written hostile definitions are ignored by every node with
 * one warning naming the file, and containers (the anonymous uid under root_squash)
 * cannot write it.
 */
static void test_hostile_catalogue(void)
{
	char def[1024], mark[1024], buf[4096], saved[4096], line[1200];
	struct stat st;
	json_t *s;
	int st2;

	/* The catalogue belongs to CATALOGUE_UID, not to the squashed identity. */
	backing(def, sizeof(def), ".openmpf-volumes");
	CHECK(stat(def, &st) == 0 && st.st_uid == 2147483646u && (st.st_mode & 07777) == 0755,
	      "catalogue directory: uid %u mode %o", (unsigned)st.st_uid,
	      (unsigned)(st.st_mode & 07777));
	backing(def, sizeof(def), ".openmpf-volumes/plain.json");
	CHECK(stat(def, &st) == 0 && st.st_uid == 2147483646u && (st.st_mode & 0022) == 0,
	      "catalogue file: uid %u mode %o", (unsigned)st.st_uid, (unsigned)st.st_mode);
	snprintf(line, sizeof(line),
		 "setpriv --reuid=65534 --regid=65534 --clear-groups sh -c 'echo x > "
		 "%s/.openmpf-volumes/forged.json' 2>/dev/null",
		 export_dir);
	CHECK(system(line) != 0, "the anonymous uid could write the catalogue");
	/* No volume's FUSE view holds the catalogue: subdir=/ on the home export is refused. */
	expect_err(&node1, "/VolumeDriver.Create", "{\"Name\":\"all\",\"Opts\":{\"subdir\":\"/\"}}",
		   "catalogue directory");

	/* Hand-written definitions: another server, an export above the home one with
	 * on_remove=delete, and root identity. */
	backing(mark, sizeof(mark), "precious.txt");
	write_file(mark, "keep me\n");
	backing(def, sizeof(def), ".openmpf-volumes/evil.json");
	write_file(def, "{\"Format\":1,\"Name\":\"evil\",\"Server\":\"127.0.0.1\",\"Export\":\"/\","
			"\"Subdir\":\"export\",\"Mode\":\"0777\",\"Readonly\":false,"
			"\"OnRemove\":\"delete\"}");
	backing(def, sizeof(def), ".openmpf-volumes/away.json");
	write_file(def, "{\"Format\":1,\"Name\":\"away\",\"Server\":\"198.18.0.1\",\"Export\":"
			"\"/export\",\"Subdir\":\"away\",\"Mode\":\"0777\",\"Readonly\":false,"
			"\"OnRemove\":\"keep\"}");
	backing(def, sizeof(def), ".openmpf-volumes/rooted.json");
	write_file(def, "{\"Format\":1,\"Name\":\"rooted\",\"Server\":\"127.0.0.1\",\"Export\":"
			"\"/export\",\"Subdir\":\"rooted\",\"Mode\":\"0777\",\"Readonly\":false,"
			"\"OnRemove\":\"keep\",\"Uid\":0,\"Gid\":0}");
	/* An existing volume turned to root identity: node2 keeps its own definition. */
	backing(def, sizeof(def), ".openmpf-volumes/owned.json");
	CHECK(read_file(def, saved, sizeof(saved)), "read %s", def);
	s = get_status(&node2, "owned");
	json_decref(s);
	{
		json_t *j = json_loads(saved, 0, NULL);
		char *text;

		CHECK(j, "owned.json is JSON");
		json_object_set_new(j, "Uid", json_integer(0));
		text = json_dumps(j, 0);
		write_file(def, text);
		free(text);
		json_decref(j);
	}
	CHECK(tl_wait_until(5000, node2.pid, log_says,
			    "still cannot use .openmpf-volumes/evil.json"),
	      "node2 never listed the catalogue twice after the hostile files appeared");
	CHECK(tl_wait_until(5000, node2.pid, log_says,
			    "still cannot use .openmpf-volumes/owned.json"),
	      "node2 never re-read owned.json");
	CHECK(log_count(&node2, "warn: catalogue: cannot use .openmpf-volumes/evil.json") == 1,
	      "evil.json: not exactly one warning");
	CHECK(log_count(&node2, "warn: catalogue: cannot use .openmpf-volumes/away.json") == 1,
	      "away.json: not exactly one warning");
	CHECK(log_count(&node2, "warn: catalogue: cannot use .openmpf-volumes/rooted.json") == 1,
	      "rooted.json: not exactly one warning");
	CHECK(log_count(&node2, "warn: catalogue: cannot use .openmpf-volumes/owned.json: "
				".openmpf-volumes/owned.json: ignored: volume owned: uid 0") == 1,
	      "owned.json: no single warning naming the root identity");
	CHECK(!list_has(&node2, "evil") && !list_has(&node2, "away") && !list_has(&node2, "rooted"),
	      "node2 lists a hostile definition");
	CHECK(!list_has(&node1, "evil") && !list_has(&node1, "rooted"),
	      "node1 lists a hostile definition");
	s = get_status(&node2, "owned");
	CHECK(json_integer_value(json_object_get(s, "Uid")) != 0, "node2 adopted uid 0: %s",
	      json_dumps(s, 0));
	json_decref(s);
	expect_err(&node2, "/VolumeDriver.Mount", "{\"Name\":\"rooted\",\"ID\":\"r1\"}", "rooted");
	/* Remove of the hostile name touches nothing outside its own definition. */
	st2 = 0;
	json_decref(call(&node1, "/VolumeDriver.Remove", "{\"Name\":\"evil\"}", &st2));
	CHECK(read_file(mark, buf, sizeof(buf)) && strcmp(buf, "keep me\n") == 0,
	      "the export root's data was deleted");
	backing(def, sizeof(def), ".openmpf-volumes/plain.json");
	CHECK(access(def, F_OK) == 0, "the catalogue was deleted");
	backing(def, sizeof(def), ".openmpf-volumes/owned.json");
	write_file(def, saved);
	for (const char *n = "evil\0away\0rooted\0"; *n; n += strlen(n) + 1) {
		char rel[64];

		snprintf(rel, sizeof(rel), ".openmpf-volumes/%s.json", n);
		backing(def, sizeof(def), rel);
		unlink(def);
	}
	unlink(mark);
	ok("hostile catalogue entries (other server, export above the home one with "
	   "on_remove=delete, root identity, an existing volume turned root) are ignored by "
	   "every node with one warning naming the file; the catalogue belongs to CATALOGUE_UID "
	   "and the anonymous uid cannot write it; subdir=/ on the home export is refused");
}

struct racer {
	struct plugin *p;
	int failures;
	char last_err[512];
};

static void *race_create(void *arg)
{
	struct racer *r = arg;
	char body[128];

	for (int i = 0; i < 5; i++) {
		int st;
		json_t *j;

		snprintf(body, sizeof(body), "{\"Name\":\"race%d\",\"Opts\":{\"mode\":\"0755\"}}",
			 i);
		j = call(r->p, "/VolumeDriver.Create", body, &st);
		if (st != 200) {
			r->failures++;
			snprintf(r->last_err, sizeof(r->last_err), "%s", err_of(j));
		}
		json_decref(j);
	}
	return NULL;
}

/* Both nodes create the same new volumes at the same moment (a stack starting tasks on
 * every node): all succeed with one definition. */
static void test_concurrent_create(void)
{
	struct racer r1 = {.p = &node1}, r2 = {.p = &node2};
	pthread_t t1, t2;
	char name[16];

	CHECK(pthread_create(&t1, NULL, race_create, &r1) == 0, "thread");
	CHECK(pthread_create(&t2, NULL, race_create, &r2) == 0, "thread");
	pthread_join(t1, NULL);
	pthread_join(t2, NULL);
	CHECK(r1.failures == 0 && r2.failures == 0, "concurrent Create failed: %d/%d (%s%s)",
	      r1.failures, r2.failures, r1.last_err, r2.last_err);
	for (int i = 0; i < 5; i++) {
		snprintf(name, sizeof(name), "race%d", i);
		CHECK(list_has(&node1, name) && list_has(&node2, name), "%s not listed", name);
	}
	ok("both nodes create the same 5 new volumes at the same moment: every Create succeeds");
}

static void test_remove(void)
{
	char p[1024], mp[512];

	/* keep (the default): the definition goes, the data stays. */
	okcall(&node1, "/VolumeDriver.Remove", "{\"Name\":\"adopt\"}");
	backing(p, sizeof(p), "legacy/keep.txt");
	CHECK(access(p, F_OK) == 0, "on_remove=keep deleted data");
	backing(p, sizeof(p), ".openmpf-volumes/adopt.json");
	CHECK(access(p, F_OK) != 0, "definition still in the catalogue");
	expect_err(&node1, "/VolumeDriver.Get", "{\"Name\":\"adopt\"}", "no such volume");
	CHECK(!list_has(&node1, "adopt"), "removed volume listed");
	/* delete: the directory tree goes. */
	okcall(&node1, "/VolumeDriver.Create",
	       "{\"Name\":\"scratch\",\"Opts\":{\"on_remove\":\"delete\",\"subdir\":\"tmp/s\"}}");
	mount_vol(&node1, "scratch", "s1", mp, sizeof(mp));
	snprintf(p, sizeof(p), "%s/d", mp);
	CHECK(mkdir(p, 0755) == 0, "mkdir in scratch");
	snprintf(p, sizeof(p), "%s/d/f", mp);
	write_file(p, "x");
	unmount_vol(&node1, "scratch", "s1");
	okcall(&node1, "/VolumeDriver.Remove", "{\"Name\":\"scratch\"}");
	backing(p, sizeof(p), "tmp/s");
	CHECK(access(p, F_OK) != 0, "on_remove=delete left %s", p);
	backing(p, sizeof(p), "tmp");
	CHECK(access(p, F_OK) == 0, "on_remove=delete removed the parent");
	/* delete, but another volume uses the directory: data kept. */
	okcall(&node1, "/VolumeDriver.Create",
	       "{\"Name\":\"alias\",\"Opts\":{\"on_remove\":\"delete\",\"subdir\":\"plain\"}}");
	okcall(&node1, "/VolumeDriver.Remove", "{\"Name\":\"alias\"}");
	backing(p, sizeof(p), "plain/hello.txt");
	CHECK(access(p, F_OK) == 0, "on_remove=delete deleted a directory another volume uses");
	ok("Remove: on_remove=keep keeps the data, on_remove=delete deletes only the subdir "
	   "tree, and never a directory another volume uses");
}

/*
 * Guards by identity: the home export's root and another volume's directory named through
 * a second export (/alias = the parent of /export), and a directory swapped for a symlink
 * to another volume after Create: on_remove=delete deletes none of them.
 */
static void test_identity_guards(void)
{
	static const char *const extra[] = {"ALLOWED_EXPORTS=127.0.0.1:/alias", NULL};
	char p[1024], q[1024], buf[256], cmd[2400];

	plugin_start(&node3, extra);
	okcall(&node3, "/VolumeDriver.Create", "{\"Name\":\"victim\"}");
	backing(p, sizeof(p), "victim/data.txt");
	write_file(p, "victim data\n");
	backing(q, sizeof(q), "home-marker.txt");
	write_file(q, "home export data\n");
	/* The home export's root, spelt /alias + subdir export: refused at Create (its view
	 * would hold the catalogue); written by hand, its delete is refused. */
	expect_err(&node3, "/VolumeDriver.Create",
		   "{\"Name\":\"aliasroot\",\"Opts\":{\"export\":\"/alias\",\"subdir\":\"export\","
		   "\"on_remove\":\"delete\"}}",
		   "is the home export's root");
	expect_err(&node3, "/VolumeDriver.Create",
		   "{\"Name\":\"aliascat\",\"Opts\":{\"export\":\"/alias\",\"subdir\":"
		   "\"export/.openmpf-volumes\"}}",
		   "catalogue directory");
	backing(cmd, sizeof(cmd), ".openmpf-volumes/aliasroot.json");
	write_file(cmd, "{\"Format\":1,\"Name\":\"aliasroot\",\"Server\":\"127.0.0.1\",\"Export\":"
			"\"/alias\",\"Subdir\":\"export\",\"Mode\":\"0777\",\"Readonly\":false,"
			"\"OnRemove\":\"delete\"}");
	for (long long end = now_ms() + 5000; !list_has(&node3, "aliasroot");) {
		CHECK(now_ms() < end, "node3 never listed the hand-written aliasroot");
		usleep(100000);
	}
	expect_err(&node3, "/VolumeDriver.Mount", "{\"Name\":\"aliasroot\",\"ID\":\"a1\"}",
		   "is the home export's root");
	okcall(&node3, "/VolumeDriver.Remove", "{\"Name\":\"aliasroot\"}");
	CHECK(read_file(q, buf, sizeof(buf)) && strcmp(buf, "home export data\n") == 0,
	      "on_remove=delete of /alias/export deleted the home export");
	backing(cmd, sizeof(cmd), ".openmpf-volumes/victim.json");
	CHECK(access(cmd, F_OK) == 0, "the catalogue went with the alias");
	/* Another volume's directory, spelt /alias + subdir export/victim. */
	okcall(&node3, "/VolumeDriver.Create",
	       "{\"Name\":\"aliasvictim\",\"Opts\":{\"export\":\"/alias\",\"subdir\":"
	       "\"export/victim\",\"on_remove\":\"delete\"}}");
	okcall(&node3, "/VolumeDriver.Remove", "{\"Name\":\"aliasvictim\"}");
	CHECK(read_file(p, buf, sizeof(buf)) && strcmp(buf, "victim data\n") == 0,
	      "on_remove=delete through /alias deleted another volume's data");
	CHECK(log_count(&node3, "on_remove=delete refused") == 2,
	      "node3 did not log both refusals");
	/* A directory swapped for a symlink to another volume after Create. */
	okcall(&node3, "/VolumeDriver.Create",
	       "{\"Name\":\"swapped\",\"Opts\":{\"subdir\":\"parent/"
	       "link\",\"on_remove\":\"delete\"}}");
	backing(q, sizeof(q), "parent/link");
	CHECK(rmdir(q) == 0 && symlink("../victim", q) == 0, "plant symlink at %s", q);
	expect_err(&node3, "/VolumeDriver.Mount", "{\"Name\":\"swapped\",\"ID\":\"s1\"}",
		   "parent/link is a symbolic link");
	okcall(&node3, "/VolumeDriver.Remove", "{\"Name\":\"swapped\"}");
	CHECK(read_file(p, buf, sizeof(buf)) && strcmp(buf, "victim data\n") == 0,
	      "on_remove=delete followed a symlink into another volume");
	CHECK(log_count(&node3, "parent/link is a symbolic link") >= 1,
	      "node3 did not name the symlink");
	/* A symlink planted inside a volume: its delete removes the link, not the target. */
	okcall(&node3, "/VolumeDriver.Create",
	       "{\"Name\":\"planted\",\"Opts\":{\"on_remove\":\"delete\"}}");
	backing(q, sizeof(q), "planted/to-victim");
	CHECK(symlink("../victim", q) == 0, "plant symlink at %s", q);
	backing(q, sizeof(q), "planted/abs");
	CHECK(symlink("/", q) == 0, "plant symlink at %s", q);
	okcall(&node3, "/VolumeDriver.Remove", "{\"Name\":\"planted\"}");
	backing(q, sizeof(q), "planted");
	CHECK(access(q, F_OK) != 0, "planted was not deleted");
	CHECK(read_file(p, buf, sizeof(buf)) && strcmp(buf, "victim data\n") == 0,
	      "deleting a volume with a planted symlink deleted its target");
	okcall(&node3, "/VolumeDriver.Remove", "{\"Name\":\"victim\"}");
	backing(q, sizeof(q), "home-marker.txt");
	unlink(q);
	backing(q, sizeof(q), "parent/link");
	unlink(q);
	plugin_stop(&node3, SIGTERM);
	ok("on_remove=delete by identity: the home export root and another volume's directory "
	   "named through a second export, and a directory swapped for a symlink, are kept (and "
	   "the swapped one is not mounted); a volume with planted symlinks deletes only its own "
	   "tree");
}

static bool file_says(void *arg)
{
	char buf[256];

	return read_file(arg, buf, sizeof(buf)) && strcmp(buf, "hello from node1\n") == 0;
}

static void test_restart(void)
{
	char mp[512], p[1024];
	int st;

	mount_vol(&node1, "plain", "r-a", mp, sizeof(mp));
	mount_vol(&node1, "plain", "r-a", mp, sizeof(mp));
	mount_vol(&node1, "plain", "r-b", mp, sizeof(mp));
	st = plugin_stop(&node1, SIGTERM);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "SIGTERM: exit status %d", st);
	CHECK(!is_mounted(mp), "FUSE still mounted after SIGTERM");
	plugin_start(&node1, NULL);
	snprintf(p, sizeof(p), "%s/hello.txt", mp);
	CHECK(tl_wait_until(10000, node1.pid, file_says, p),
	      "mount not re-established 10 s after a restart");
	CHECK(list_has(&node1, "owned"), "catalogue copy lost over a restart");
	/* Crash: the dead FUSE mount (ENOTCONN) is replaced at start. */
	plugin_stop(&node1, SIGKILL);
	plugin_start(&node1, NULL);
	CHECK(tl_wait_until(10000, node1.pid, file_says, p),
	      "mount not re-established 10 s after a crash");
	/* The counts survived: two r-a and one r-b. */
	unmount_vol(&node1, "plain", "r-a");
	unmount_vol(&node1, "plain", "r-b");
	CHECK(is_mounted(mp), "counts lost over restarts");
	unmount_vol(&node1, "plain", "r-a");
	CHECK(!is_mounted(mp), "still mounted after the last Unmount");
	ok("restart after SIGTERM (FUSE unmounted cleanly, exit 0) and after SIGKILL: state "
	   "reloaded, mounts re-established, mount counts kept");
}

/* Call and require an Err naming server and export within max_ms. */
static void expect_outage_err(int line, struct plugin *pl, const char *path, const char *body,
			      long long max_ms)
{
	long long t0 = now_ms(), dt;
	int st;
	json_t *j = call(pl, path, body, &st);

	dt = now_ms() - t0;
	if (st != 500 || !strstr(err_of(j), "127.0.0.1") || !strstr(err_of(j), "/export"))
		failf(line,
		      "%s %s during the outage: status %d, Err \"%s\" (want server and "
		      "export named)",
		      path, body, st, err_of(j));
	if (dt > max_ms)
		failf(line, "%s took %lld ms during the outage (limit %lld)", path, dt, max_ms);
	printf("     %s failed in %lld ms: %s\n", path, dt, err_of(j));
	json_decref(j);
}

static void check_local_answers(const char *when)
{
	long long t0 = now_ms();
	json_t *s = get_status(&node1, "owned");

	CHECK(list_has(&node1, "owned") && list_has(&node1, "plain"), "%s: List lost volumes",
	      when);
	CHECK(now_ms() - t0 < 1000, "%s: Get+List took %lld ms", when, now_ms() - t0);
	json_decref(s);
}

static void test_outage(void)
{
	long long limit = (TIMEOUT_S + 4) * 1000LL;
	json_t *s;
	char mp[512];

	/* Server killed: connections refused. */
	CHECK(gsh("ganesha_outage \"%s\" kill on", gdir) == 0, "ganesha kill");
	expect_outage_err(__LINE__, &node1, "/VolumeDriver.Create", "{\"Name\":\"during\"}", limit);
	expect_outage_err(__LINE__, &node1, "/VolumeDriver.Mount",
			  "{\"Name\":\"owned\",\"ID\":\"o1\"}", limit);
	expect_outage_err(__LINE__, &node1, "/VolumeDriver.Remove", "{\"Name\":\"conc\"}", limit);
	check_local_answers("server killed");
	for (long long end = now_ms() + 8000;;) {
		s = get_status(&node1, "owned");
		if (json_is_false(json_object_get(s, "Reachable")))
			break;
		CHECK(now_ms() < end, "Status never showed Reachable false: %s", json_dumps(s, 0));
		json_decref(s);
		usleep(200000);
	}
	CHECK(strstr(json_string_value(json_object_get(s, "LastError")), "127.0.0.1"),
	      "LastError does not name the server: %s", json_dumps(s, 0));
	json_decref(s);
	/* An unknown name is refused at once once the server is known to be down. */
	{
		long long t0 = now_ms();

		expect_err(&node1, "/VolumeDriver.Get", "{\"Name\":\"unknown\"}",
			   "no such volume: unknown", "127.0.0.1");
		CHECK(now_ms() - t0 < 1000, "Get of an unknown name took %lld ms", now_ms() - t0);
	}
	ok("server killed: Create, Mount and Remove fail fast naming server and export; Get/List "
	   "answer from the local copy; Status says unreachable; unknown names refused at once");

	CHECK(gsh("ganesha_outage \"%s\" kill off", gdir) == 0, "ganesha restart");
	okcall(&node1, "/VolumeDriver.Create", "{\"Name\":\"during\"}");
	mount_vol(&node1, "owned", "o1", mp, sizeof(mp));
	unmount_vol(&node1, "owned", "o1");
	ok("server back: Create and Mount work again");

	/* Server frozen (SIGSTOP): the kernel accepts, nothing answers. */
	CHECK(gsh("ganesha_outage \"%s\" stop on", gdir) == 0, "ganesha stop");
	expect_outage_err(__LINE__, &node1, "/VolumeDriver.Create", "{\"Name\":\"frozen\"}", limit);
	expect_outage_err(__LINE__, &node1, "/VolumeDriver.Mount",
			  "{\"Name\":\"during\",\"ID\":\"f1\"}", limit);
	check_local_answers("server frozen");
	CHECK(gsh("ganesha_outage \"%s\" stop off", gdir) == 0, "ganesha cont");
	okcall(&node1, "/VolumeDriver.Create", "{\"Name\":\"frozen\"}");
	ok("server frozen (SIGSTOP): Create and Mount fail within NFS_TIMEOUT + connect time, "
	   "naming server and export; Get/List still answer at once; works after SIGCONT");
}

static void test_v4_refused(void)
{
	const char *extra[] = {"NFS_VERSION=4", NULL};

	plugin_start(&v4, extra);
	expect_err(&v4, "/VolumeDriver.Create", "{\"Name\":\"v4vol\"}", "NFS_VERSION=4",
		   "accepted: 3");
	expect_err(&v4, "/VolumeDriver.Get", "{\"Name\":\"plain\"}", "NFS_VERSION=4");
	plugin_stop(&v4, SIGTERM);
	ok("NFS_VERSION=4: every call is refused naming the setting and the accepted version");
}

/* A hung step must not leave ganesha, plugins and FUSE mounts behind (ctest kills with
 * SIGKILL on its timeout, which runs no cleanup). */
static void on_alarm(int sig)
{
	(void)sig;
	fprintf(stderr, "FAIL: the test did not finish within %d s\n", WATCHDOG_S);
	tail_log(&node1);
	tail_log(&node2);
	exit(1);
}

int main(void)
{
	char cmd[1024];

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (geteuid() != 0) {
		printf("SKIP: needs root (FUSE mounts, nfs-ganesha)\n");
		return 77;
	}
	if (access("/dev/fuse", R_OK | W_OK) != 0) {
		printf("SKIP: /dev/fuse is not usable\n");
		return 77;
	}
	signal(SIGALRM, on_alarm);
	alarm(WATCHDOG_S);
	work = tl_tmpdir("api-volume");
	CHECK(work, "tmpdir");
	atexit(cleanup);
	snprintf(gdir, sizeof(gdir), "%s/ganesha", work);
	/* top/ is exported a second time as /alias: /alias/export is /export's root. */
	snprintf(export_dir, sizeof(export_dir), "%s/top/export", work);
	snprintf(cmd, sizeof(cmd), "require_ganesha");
	{
		int st = gsh("%s", cmd);

		if (st == 77) {
			printf("SKIP: nfs-ganesha, nfs-ganesha-vfs or rpcbind missing\n");
			return 77;
		}
		CHECK(st == 0, "require_ganesha: %d", st);
	}
	ganesha_started = true;
	CHECK(gsh("mkdir -p \"%s\" && NFS_PORT=%s NFS_MNTPORT=%s ganesha_conf \"%s\" \"%s\" && "
		  "chmod 1777 \"%s\" && sed -n \"/^EXPORT {/,/^}/p\" \"%s/ganesha.conf\" | "
		  "sed \"s|Export_Id = 1;|Export_Id = 2;|; s|Path = .*|Path = \\\"$(dirname "
		  "%s)\\\";|; "
		  "s|Pseudo = .*|Pseudo = \\\"/alias\\\";|\" >> \"%s/ganesha.conf\" && "
		  "ganesha_start \"%s\"",
		  gdir, NFS_PORT, NFS_MNTPORT, gdir, export_dir, export_dir, gdir, export_dir, gdir,
		  gdir) == 0,
	      "ganesha did not start (ports %s/%s busy?)", NFS_PORT, NFS_MNTPORT);
	plugin_start(&node1, NULL);

	test_handshake();
	test_bad_requests();
	test_create();
	test_mount();
	test_concurrent();
	test_second_node();
	test_hostile_catalogue();
	test_concurrent_create();
	test_remove();
	test_identity_guards();
	test_restart();
	test_outage();
	test_v4_refused();
	/* A clean exit also means no sanitizer report (LeakSanitizer exits non-zero). */
	{
		int st1 = plugin_stop(&node1, SIGTERM), st2 = plugin_stop(&node2, SIGTERM);

		CHECK(WIFEXITED(st1) && WEXITSTATUS(st1) == 0 && WIFEXITED(st2) &&
			      WEXITSTATUS(st2) == 0,
		      "plugins did not exit cleanly: status %d and %d (see the logs)", st1, st2);
	}
	printf("volume API: all checks passed\n");
	return 0;
}
