// SPDX-License-Identifier: MIT
/*
 * testlib: process control, deadline polling and a minimal HTTP/1.1 client over AF_UNIX
 * shaped like dockerd's plugin client (POST, empty Host, Content-Length, no Content-Type).
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <check.h>

#include "testlib.h"

extern char **environ;

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

pid_t tl_spawn(char *const argv[], char *const extra_env[], const char *log_path)
{
	pid_t pid = fork();

	if (pid != 0)
		return pid;
	for (size_t i = 0; extra_env && extra_env[i]; i++)
		putenv(extra_env[i]);
	if (log_path) {
		int fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);

		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
	}
	execve(argv[0], argv, environ);
	fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

bool tl_alive(pid_t pid, int *status)
{
	int st = 0;
	pid_t r = waitpid(pid, &st, WNOHANG);

	if (r == 0)
		return true;
	if (status)
		*status = st;
	return false;
}

int tl_stop(pid_t pid, int sig, int timeout_ms)
{
	long long deadline = now_ms() + timeout_ms;
	int st = 0;

	if (pid <= 0)
		return -1;
	kill(pid, sig);
	while (now_ms() < deadline) {
		pid_t r = waitpid(pid, &st, WNOHANG);

		if (r == pid)
			return st;
		if (r < 0)
			return -1;
		usleep(10000);
	}
	kill(pid, SIGKILL);
	if (waitpid(pid, &st, 0) == pid)
		return st;
	return -1;
}

bool tl_wait_until(int timeout_ms, pid_t watch_pid, tl_probe_fn probe, void *arg)
{
	long long deadline = now_ms() + timeout_ms;

	for (;;) {
		if (probe(arg))
			return true;
		if (watch_pid > 0 && !tl_alive(watch_pid, NULL)) {
			fprintf(stderr, "tl_wait_until: watched process %d exited\n",
				(int)watch_pid);
			return false;
		}
		if (now_ms() >= deadline)
			return false;
		usleep(20000);
	}
}

static int connect_unix(const char *path)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	int fd;

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

bool tl_socket_ready(void *path)
{
	int fd = connect_unix(path);

	if (fd < 0)
		return false;
	close(fd);
	return true;
}

static int send_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Read until the peer closes or Content-Length bytes of body have arrived. */
static int read_response(int fd, char **resp)
{
	size_t cap = 4096, len = 0;
	char *buf = malloc(cap);
	char *hdr_end, *cl;
	int status = -1;

	if (!buf)
		return -1;
	for (;;) {
		ssize_t n;

		if (len + 1 >= cap) {
			char *g = realloc(buf, cap * 2);

			if (!g)
				goto out;
			buf = g;
			cap *= 2;
		}
		n = recv(fd, buf + len, cap - len - 1, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
		buf[len] = '\0';
		hdr_end = strstr(buf, "\r\n\r\n");
		if (hdr_end) {
			cl = strcasestr(buf, "\r\nContent-Length:");
			if (cl && cl < hdr_end) {
				size_t want = strtoul(cl + 17, NULL, 10);

				if (len >= (size_t)(hdr_end + 4 - buf) + want)
					break;
			}
		}
	}
	buf[len] = '\0';
	if (sscanf(buf, "HTTP/1.%*d %d", &status) != 1)
		status = -1;
	hdr_end = strstr(buf, "\r\n\r\n");
	if (resp)
		*resp = strdup(hdr_end ? hdr_end + 4 : "");
out:
	free(buf);
	return status;
}

int tl_http_raw(const char *sock_path, const char *raw_request, size_t len, char **resp)
{
	int fd = connect_unix(sock_path);
	int status;

	if (resp)
		*resp = NULL;
	if (fd < 0)
		return -1;
	if (send_all(fd, raw_request, len) < 0) {
		close(fd);
		return -1;
	}
	status = read_response(fd, resp);
	close(fd);
	return status;
}

int tl_http_post(const char *sock_path, const char *path, const char *body, char **resp)
{
	size_t blen = body ? strlen(body) : 0;
	size_t cap = blen + strlen(path) + 256;
	char *req = malloc(cap);
	int n, status;

	if (!req)
		return -1;
	n = snprintf(req, cap,
		     "POST %s HTTP/1.1\r\nHost: \r\nUser-Agent: Go-http-client/1.1\r\n"
		     "Content-Length: %zu\r\nAccept: application/vnd.docker.plugins.v1.2+json\r\n"
		     "Accept-Encoding: gzip\r\nConnection: close\r\n\r\n%s",
		     path, blen, body ? body : "");
	status = tl_http_raw(sock_path, req, (size_t)n, resp);
	free(req);
	return status;
}

json_t *tl_call(const char *sock_path, const char *path, const char *body, int *status)
{
	char *resp = NULL;
	json_t *j = NULL;
	int st = tl_http_post(sock_path, path, body, &resp);

	if (status)
		*status = st;
	if (resp)
		j = json_loads(resp, 0, NULL);
	free(resp);
	return j;
}

char *tl_tmpdir(const char *prefix)
{
	char *path = NULL;

	if (asprintf(&path, "/tmp/%s.XXXXXX", prefix) < 0)
		return NULL;
	if (!mkdtemp(path)) {
		free(path);
		return NULL;
	}
	return path;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

void tl_rmtree(const char *path)
{
	if (path && *path)
		nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

int tl_run_tcase(const char *suite_name, TCase *tc)
{
	Suite *s = suite_create(suite_name);
	SRunner *sr;
	int failed;

	suite_add_tcase(s, tc);
	sr = srunner_create(s);

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
