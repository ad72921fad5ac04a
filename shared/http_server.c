// SPDX-License-Identifier: MIT
/*
 * http_server: libmicrohttpd on a unix socket we bind ourselves (as relayd's
 * control_init does: unlink a stale path, bind under a umask, chmod), one thread per
 * connection because dockerd keeps several connections open and calls in parallel.
 */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <microhttpd.h>

#include "atomic_file.h"
#include "http_server.h"
#include "jsonutil.h"
#include "log.h"

#define HTTP_MAX_BODY (1u << 20)
#define HTTP_CONTENT_TYPE "application/vnd.docker.plugins.v1+json"

struct http_server {
	struct MHD_Daemon *mhd;
	const struct http_route *routes;
	size_t nroutes;
	void *ctx;
	char sock_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
};

/* Per-request upload buffer, owned by libmicrohttpd's connection context. */
struct http_request {
	char *body;
	size_t len;
	bool too_big;
};

static enum MHD_Result send_json(struct MHD_Connection *conn, unsigned int status, json_t *reply)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;
	char *text = json_dumps(reply, JSON_COMPACT);

	if (!text)
		return MHD_NO;
	resp = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(text);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, HTTP_CONTENT_TYPE);
	ret = MHD_queue_response(conn, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result send_error(struct MHD_Connection *conn, unsigned int status, const char *msg)
{
	json_t *reply = json_pack("{s:s}", "Err", msg);
	enum MHD_Result ret = send_json(conn, status, reply);

	json_decref(reply);
	return ret;
}

static const struct http_route *find_route(const struct http_server *srv, const char *url)
{
	for (size_t i = 0; i < srv->nroutes; i++) {
		if (strcmp(srv->routes[i].path, url) == 0)
			return &srv->routes[i];
	}
	return NULL;
}

static bool reply_is_error(json_t *reply)
{
	json_t *e = json_object_get(reply, "Err");

	return json_is_string(e) && json_string_length(e) > 0;
}

/* Set by a handler on this thread: its error reply is routine (see http_server.h). */
static __thread bool routine_failure;

void http_server_routine_failure(void)
{
	routine_failure = true;
}

static enum MHD_Result dispatch(struct http_server *srv, struct MHD_Connection *conn,
				const char *url, struct http_request *req)
{
	const struct http_route *route = find_route(srv, url);
	char err[512];
	json_t *request, *reply;
	enum MHD_Result ret;

	if (!route) {
		log_debug("http: unknown endpoint %s", url);
		snprintf(err, sizeof(err), "unknown endpoint %s", url);
		return send_error(conn, MHD_HTTP_NOT_FOUND, err);
	}
	if (req->too_big) {
		snprintf(err, sizeof(err), "%s: request body over %u bytes", url, HTTP_MAX_BODY);
		return send_error(conn, 413, err);
	}
	request = jsonutil_parse_request(req->body, req->len, err, sizeof(err));
	if (!request) {
		log_info("http: %s: %s", url, err);
		return send_error(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, err);
	}
	log_debug("http: %s %.*s", url, (int)(req->len > 1000 ? 1000 : req->len),
		  req->body ? req->body : "");
	routine_failure = false;
	reply = route->handler(srv->ctx, request);
	json_decref(request);
	if (!reply)
		return send_error(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal error");
	if (reply_is_error(reply)) {
		if (routine_failure)
			log_debug("http: %s: %s", url,
				  json_string_value(json_object_get(reply, "Err")));
		else
			log_info("http: %s failed: %s", url,
				 json_string_value(json_object_get(reply, "Err")));
	}
	ret = send_json(conn, reply_is_error(reply) ? MHD_HTTP_INTERNAL_SERVER_ERROR : MHD_HTTP_OK,
			reply);
	json_decref(reply);
	return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_size, void **con_cls)
{
	struct http_server *srv = cls;
	struct http_request *req = *con_cls;
	char err[256];

	(void)version;
	if (!req) {
		req = calloc(1, sizeof(*req));
		if (!req)
			return MHD_NO;
		*con_cls = req;
		return MHD_YES;
	}
	if (*upload_size) {
		if (!req->too_big && req->len + *upload_size <= HTTP_MAX_BODY) {
			char *grown = realloc(req->body, req->len + *upload_size + 1);

			if (!grown)
				return MHD_NO;
			memcpy(grown + req->len, upload, *upload_size);
			req->len += *upload_size;
			grown[req->len] = '\0';
			req->body = grown;
		} else {
			req->too_big = true;
		}
		*upload_size = 0;
		return MHD_YES;
	}
	if (strcmp(method, MHD_HTTP_METHOD_POST) != 0) {
		snprintf(err, sizeof(err), "method %s not allowed: plugin endpoints take POST",
			 method);
		return send_error(conn, MHD_HTTP_METHOD_NOT_ALLOWED, err);
	}
	return dispatch(srv, conn, url, req);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct http_request *req = *con_cls;

	(void)cls;
	(void)conn;
	(void)toe;
	if (req) {
		free(req->body);
		free(req);
	}
	*con_cls = NULL;
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];

	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	msg[strcspn(msg, "\n")] = '\0';
	log_debug("http: libmicrohttpd: %s", msg);
}

static int listen_unix(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	char dir[PATH_MAX];
	char *slash;
	mode_t old_mask;
	int fd, ret;

	if (snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path) >= (int)sizeof(sun.sun_path)) {
		snprintf(err, errlen, "socket path %s: longer than %zu bytes", path,
			 sizeof(sun.sun_path) - 1);
		return -ENAMETOOLONG;
	}
	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		ret = atomic_file_mkdirs(dir, 0755);
		if (ret) {
			snprintf(err, errlen, "socket directory %s: %s", dir, strerror(-ret));
			return ret;
		}
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "socket: %s", strerror(-ret));
		return ret;
	}
	/* A socket file left by a killed predecessor would make bind fail with EADDRINUSE. */
	if (unlink(path) < 0 && errno != ENOENT) {
		ret = -errno;
		snprintf(err, errlen, "remove stale socket %s: %s", path, strerror(-ret));
		goto out_close;
	}
	old_mask = umask(0117);
	ret = bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ? -errno : 0;
	umask(old_mask);
	if (ret) {
		snprintf(err, errlen, "bind %s: %s", path, strerror(-ret));
		goto out_close;
	}
	if (listen(fd, 64) < 0) {
		ret = -errno;
		snprintf(err, errlen, "listen %s: %s", path, strerror(-ret));
		unlink(path);
		goto out_close;
	}
	return fd;
out_close:
	close(fd);
	return ret;
}

struct http_server *http_server_start(const char *sock_path, const struct http_route *routes,
				      size_t nroutes, void *ctx, char *err, size_t errlen)
{
	struct http_server *srv = calloc(1, sizeof(*srv));
	int fd = -1;

	if (!srv) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	snprintf(srv->sock_path, sizeof(srv->sock_path), "%s", sock_path);
	srv->routes = routes;
	srv->nroutes = nroutes;
	srv->ctx = ctx;
	fd = listen_unix(sock_path, err, errlen);
	if (fd < 0)
		goto out_free;
	srv->mhd = MHD_start_daemon(
		MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG,
		0, NULL, NULL, on_request, srv, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, srv,
		MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)300, MHD_OPTION_END);
	if (!srv->mhd) {
		snprintf(err, errlen, "cannot start HTTP server on %s", sock_path);
		close(fd);
		unlink(sock_path);
		goto out_free;
	}
	return srv;
out_free:
	free(srv);
	return NULL;
}

void http_server_stop(struct http_server *srv)
{
	if (!srv)
		return;
	/* MHD_stop_daemon joins every connection thread and closes the listen socket. */
	MHD_stop_daemon(srv->mhd);
	unlink(srv->sock_path);
	free(srv);
}
