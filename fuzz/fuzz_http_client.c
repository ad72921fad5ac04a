// SPDX-License-Identifier: MIT
/* fuzz_http_client: see fuzz_http_client.h. */
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <jansson.h>

#include "escape.h"
#include "fuzz_http_client.h"

void fuzz_pick_url(const uint8_t *data, size_t size, const char *const *paths, size_t npaths,
		   char *url, size_t urllen, size_t *used)
{
	size_t i = 1, n = 0;

	*used = size ? 1 : 0;
	if (size && data[0] < npaths) {
		snprintf(url, urllen, "%s", paths[data[0]]);
		return;
	}
	url[n++] = '/';
	for (; i < size && data[i] && n + 4 < urllen; i++) {
		unsigned char c = data[i];

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '.' || c == '/' || c == '_')
			url[n++] = (char)c;
		else
			n += (size_t)snprintf(url + n, urllen - n, "%%%02X", c);
	}
	url[n] = '\0';
	*used = i < size ? i + 1 : (size ? i : 0);
}

__attribute__((noreturn)) static void fail(const char *why, const char *resp)
{
	fprintf(stderr, "fuzz: invariant broken: %s\n--- reply:\n%s\n---\n", why,
		resp ? resp : "(none)");
	abort();
}

/* libFuzzer's timer (SIGALRM) interrupts calls: retry, and finish partial sends. */
static int send_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t r = send(fd, p, len, MSG_NOSIGNAL);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		p += r;
		len -= (size_t)r;
	}
	return 0;
}

void fuzz_post_and_check(const char *sock, const char *url, const uint8_t *body, size_t len)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	char head[4096], *resp = NULL, *p;
	size_t got = 0, cap = 0;
	int fd, n, status;
	json_t *j, *e;

	n = snprintf(head, sizeof(head),
		     "POST %s HTTP/1.1\r\nHost: \r\nUser-Agent: Go-http-client/1.1\r\n"
		     "Content-Length: %zu\r\nConnection: close\r\n\r\n",
		     url, len);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", sock);
	if (fd < 0)
		fail("socket", NULL);
	while (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		if (errno == EISCONN)
			break;
		if (errno != EINTR)
			fail("cannot connect to the server", NULL);
	}
	if (send_all(fd, head, (size_t)n) < 0 || send_all(fd, body, len) < 0)
		fail("server closed the connection before the request was sent", NULL);
	for (;;) {
		ssize_t r;

		if (got + 4096 + 1 > cap) {
			cap = cap ? cap * 2 : 16384;
			resp = realloc(resp, cap);
			if (!resp)
				abort();
		}
		r = recv(fd, resp + got, cap - got - 1, 0);
		if (r < 0 && errno == EINTR)
			continue; /* libFuzzer's SIGALRM timer */
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	close(fd);
	if (!resp)
		fail("no reply at all", NULL);
	resp[got] = '\0';
	if (sscanf(resp, "HTTP/1.1 %d ", &status) != 1)
		fail("no HTTP/1.1 status line", resp);
	if (status != 200 && status != 404 && status != 405 && status != 413 && status != 500)
		fail("unexpected status", resp);
	p = strstr(resp, "\r\n\r\n");
	if (!p)
		fail("no end of headers", resp);
	{
		/* One reply: exactly Content-Length bytes follow the headers. */
		const char *cl = strcasestr(resp, "\r\nContent-Length: ");
		unsigned long blen;

		if (!cl || cl > p || sscanf(cl + 18, "%lu", &blen) != 1)
			fail("no Content-Length", resp);
		if ((size_t)(p + 4 - resp) + blen != got)
			fail("bytes after the reply, or a short body", resp);
	}
	j = json_loads(p + 4, 0, NULL);
	if (!json_is_object(j))
		fail("body is not a JSON object", resp);
	e = json_object_get(j, "Err");
	if (status != 200 && (!json_is_string(e) || json_string_length(e) == 0 ||
			      !escape_is_plain(json_string_value(e), json_string_length(e))))
		fail("error reply without a plain, non-empty Err", resp);
	json_decref(j);
	free(resp);
}

static const char *exit_dir;

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

static void remove_exit_dir(void)
{
	if (exit_dir)
		nftw(exit_dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

void fuzz_remove_at_exit(const char *dir)
{
	exit_dir = dir;
	atexit(remove_exit_dir);
}
