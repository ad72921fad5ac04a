// SPDX-License-Identifier: MIT
/*
 * http_server: libmicrohttpd on a unix socket we bind ourselves (as relayd's
 * control_init does: unlink a stale path, bind under a umask, chmod). One epoll thread
 * serves every connection; complete requests go to a small pool of worker threads (their
 * connections suspended meanwhile), so idle or half-sent connections cost no thread and a
 * slow handler does not hold up other clients.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <microhttpd.h>

#include "atomic_file.h"
#include "escape.h"
#include "http_server.h"
#include "jsonutil.h"
#include "log.h"

#define HTTP_MAX_BODY (1u << 20)
#define HTTP_CONTENT_TYPE "application/vnd.docker.plugins.v1+json"
/* Sent when even the error reply cannot be built (no memory): every request gets one. */
#define HTTP_LAST_RESORT "{\"Err\":\"internal error\"}"
/*
 * Threads that run handlers. Connections cost no thread: one epoll thread reads requests
 * and writes replies, a request whose body is complete is suspended and queued here, and
 * resumed with its reply. Handlers may block on a slow NFS server for up to NFS_TIMEOUT;
 * this many can do so at once while the socket keeps answering.
 */
#define HTTP_WORKERS 16
/* Idle keep-alive connections and half-sent requests are closed after this long. */
#define HTTP_IDLE_TIMEOUT_S 15
/* Open connections and pending accepts (the kernel caps the backlog at somaxconn). */
#define HTTP_MAX_CONNECTIONS 8192
#define HTTP_BACKLOG 4096

struct http_request;

struct http_server {
	struct MHD_Daemon *mhd;
	const struct http_route *routes;
	size_t nroutes;
	void *ctx;
	char sock_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	/* The handler queue and its workers. */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct http_request *head, *tail;
	bool stopping;
	pthread_t workers[HTTP_WORKERS];
	size_t nworkers;
};

/* Per-request state, owned by libmicrohttpd's connection context. */
struct http_request {
	struct MHD_Connection *conn;
	char *body;
	size_t len;
	bool too_big;
	char *url; /* copied: the job runs after on_request returned */
	bool queued;
	/* The reply, set by a worker before it resumes the connection. */
	bool done;
	unsigned int status;
	char *reply; /* JSON text (malloc) or NULL: HTTP_LAST_RESORT */
	struct http_request *next;
};

static enum MHD_Result queue_reply(struct MHD_Connection *conn, unsigned int status, char *text)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;

	if (text) {
		resp = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
		if (!resp)
			free(text);
	} else {
		status = MHD_HTTP_INTERNAL_SERVER_ERROR;
		resp = MHD_create_response_from_buffer(strlen(HTTP_LAST_RESORT), HTTP_LAST_RESORT,
						       MHD_RESPMEM_PERSISTENT);
	}
	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, HTTP_CONTENT_TYPE);
	ret = MHD_queue_response(conn, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* The JSON text of reply (NULL if it cannot be built: the caller sends HTTP_LAST_RESORT). */
static char *dump(json_t *reply)
{
	return reply ? json_dumps(reply, JSON_COMPACT) : NULL;
}

/* {"Err": msg}; msg may quote the request: escaped here, so json_pack never refuses it. */
static char *error_text(const char *msg)
{
	char text[2048];
	json_t *reply = json_pack("{s:s}", "Err", escape_str(text, sizeof(text), msg));
	char *out = dump(reply);

	json_decref(reply);
	return out;
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

/* Run the request (on a worker): sets req->status and req->reply. */
static void dispatch(struct http_server *srv, struct http_request *req)
{
	const struct http_route *route = find_route(srv, req->url);
	const char *url = req->url;
	char err[512];
	json_t *request, *reply;

	req->status = MHD_HTTP_INTERNAL_SERVER_ERROR;
	if (!route) {
		snprintf(err, sizeof(err), "unknown endpoint %s", url);
		log_info("http: %s", err);
		req->status = MHD_HTTP_NOT_FOUND;
		req->reply = error_text(err);
		return;
	}
	if (req->too_big) {
		snprintf(err, sizeof(err), "%s: request body over %u bytes", url, HTTP_MAX_BODY);
		log_info("http: %s", err);
		req->status = 413;
		req->reply = error_text(err);
		return;
	}
	request = jsonutil_parse_request(req->body, req->len, err, sizeof(err));
	if (!request) {
		log_info("http: %s: %s", url, err);
		req->reply = error_text(err);
		return;
	}
	log_debug("http: %s %.*s", url, (int)(req->len > 1000 ? 1000 : req->len),
		  req->body ? req->body : "");
	routine_failure = false;
	reply = route->handler(srv->ctx, request);
	json_decref(request);
	if (!reply) {
		req->reply = error_text("internal error");
		return;
	}
	if (reply_is_error(reply) && routine_failure)
		log_debug("http: %s: %s", url, json_string_value(json_object_get(reply, "Err")));
	else if (reply_is_error(reply))
		log_info("http: %s failed: %s", url,
			 json_string_value(json_object_get(reply, "Err")));
	else
		req->status = MHD_HTTP_OK;
	req->reply = dump(reply);
	json_decref(reply);
}

static void *worker(void *arg)
{
	struct http_server *srv = arg;

	pthread_mutex_lock(&srv->lock);
	for (;;) {
		struct http_request *req = srv->head;

		if (!req) {
			if (srv->stopping)
				break;
			pthread_cond_wait(&srv->cond, &srv->lock);
			continue;
		}
		srv->head = req->next;
		if (!srv->head)
			srv->tail = NULL;
		pthread_mutex_unlock(&srv->lock);
		dispatch(srv, req);
		req->done = true;
		/* Thread-safe: wakes the polling thread, which calls on_request again. */
		MHD_resume_connection(req->conn);
		pthread_mutex_lock(&srv->lock);
	}
	pthread_mutex_unlock(&srv->lock);
	return NULL;
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
		req->conn = conn;
		*con_cls = req;
		return MHD_YES;
	}
	if (req->done) {
		/* Resumed by a worker: send its reply (queue_reply takes the text). */
		char *text = req->reply;

		req->reply = NULL;
		return queue_reply(conn, req->status, text);
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
		log_info("http: %s: %s", url, err);
		return queue_reply(conn, MHD_HTTP_METHOD_NOT_ALLOWED, error_text(err));
	}
	if (req->queued)
		return MHD_YES; /* spurious call while suspended */
	req->url = strdup(url);
	if (!req->url)
		return queue_reply(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, NULL);
	/* The body is complete: hand the request to a worker, park the connection. */
	req->queued = true;
	MHD_suspend_connection(conn);
	pthread_mutex_lock(&srv->lock);
	if (srv->tail)
		srv->tail->next = req;
	else
		srv->head = req;
	srv->tail = req;
	pthread_cond_signal(&srv->cond);
	pthread_mutex_unlock(&srv->lock);
	return MHD_YES;
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
		free(req->url);
		free(req->reply);
		free(req);
	}
	*con_cls = NULL;
}

__attribute__((format(printf, 2, 0))) static void on_mhd_log(void *cls, const char *fmt, va_list ap)
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
	struct stat st;
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
			snprintf(err, errlen, "socket directory %s: %s", dir, errno_text(-ret));
			return ret;
		}
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "socket: %s", errno_text(-ret));
		return ret;
	}
	/*
	 * A socket file left by a killed predecessor would make bind fail with EADDRINUSE.
	 * Remove only a socket: anything else at that path is not ours to delete.
	 */
	if (lstat(path, &st) == 0 && !S_ISSOCK(st.st_mode)) {
		ret = -EEXIST;
		snprintf(err, errlen,
			 "socket path %s: exists and is not a socket: not replacing it", path);
		goto out_close;
	}
	if (unlink(path) < 0 && errno != ENOENT) {
		ret = -errno;
		snprintf(err, errlen, "remove stale socket %s: %s", path, errno_text(-ret));
		goto out_close;
	}
	/*
	 * No umask here: it is per process, and other threads may be creating files. Linux
	 * creates the socket file with the socket inode's mode (less the umask), so fchmod
	 * first: the file is never more than 0660, then exactly 0660 once bound.
	 */
	if (fchmod(fd, 0660) < 0) {
		ret = -errno;
		snprintf(err, errlen, "socket mode: %s", errno_text(-ret));
		goto out_close;
	}
	ret = bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ? -errno : 0;
	if (ret) {
		snprintf(err, errlen, "bind %s: %s", path, errno_text(-ret));
		goto out_close;
	}
	if (chmod(path, 0660) < 0) {
		ret = -errno;
		snprintf(err, errlen, "chmod %s: %s", path, errno_text(-ret));
		unlink(path);
		goto out_close;
	}
	if (listen(fd, HTTP_BACKLOG) < 0) {
		ret = -errno;
		snprintf(err, errlen, "listen %s: %s", path, errno_text(-ret));
		unlink(path);
		goto out_close;
	}
	return fd;
out_close:
	close(fd);
	return ret;
}

/* Room for HTTP_MAX_CONNECTIONS descriptors: raise the soft limit towards the hard one. */
static void raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= HTTP_MAX_CONNECTIONS + 256)
		return;
	rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > HTTP_MAX_CONNECTIONS + 256
			      ? HTTP_MAX_CONNECTIONS + 256
			      : rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		log_debug("http: cannot raise the open-file limit to %llu",
			  (unsigned long long)rl.rlim_cur);
}

static void stop_workers(struct http_server *srv)
{
	pthread_mutex_lock(&srv->lock);
	srv->stopping = true;
	pthread_cond_broadcast(&srv->cond);
	pthread_mutex_unlock(&srv->lock);
	for (size_t i = 0; i < srv->nworkers; i++)
		pthread_join(srv->workers[i], NULL);
	srv->nworkers = 0;
}

struct http_server *http_server_start(const char *sock_path, const struct http_route *routes,
				      size_t nroutes, void *ctx, char *err, size_t errlen)
{
	struct http_server *srv = calloc(1, sizeof(*srv));
	int fd = -1, ret;

	if (!srv) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	snprintf(srv->sock_path, sizeof(srv->sock_path), "%s", sock_path);
	srv->routes = routes;
	srv->nroutes = nroutes;
	srv->ctx = ctx;
	pthread_mutex_init(&srv->lock, NULL);
	pthread_cond_init(&srv->cond, NULL);
	raise_nofile();
	fd = listen_unix(sock_path, err, errlen);
	if (fd < 0)
		goto out_free;
	for (size_t i = 0; i < HTTP_WORKERS; i++) {
		ret = pthread_create(&srv->workers[i], NULL, worker, srv);
		if (ret) {
			snprintf(err, errlen, "cannot start HTTP worker threads: %s",
				 errno_text(ret));
			goto out_stop;
		}
		srv->nworkers++;
	}
	srv->mhd = MHD_start_daemon(
		MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG, 0,
		NULL, NULL, on_request, srv, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, srv,
		MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)HTTP_IDLE_TIMEOUT_S,
		MHD_OPTION_CONNECTION_LIMIT, (unsigned int)HTTP_MAX_CONNECTIONS, MHD_OPTION_END);
	if (!srv->mhd) {
		snprintf(err, errlen, "cannot start HTTP server on %s", sock_path);
		goto out_stop;
	}
	return srv;
out_stop:
	stop_workers(srv);
	close(fd);
	unlink(sock_path);
out_free:
	pthread_cond_destroy(&srv->cond);
	pthread_mutex_destroy(&srv->lock);
	free(srv);
	return NULL;
}

void http_server_stop(struct http_server *srv)
{
	if (!srv)
		return;
	/*
	 * Stop accepting, let the workers finish what is queued (each resumes its
	 * connection), then stop the daemon: libmicrohttpd must not stop with suspended
	 * connections.
	 */
	MHD_socket fd = MHD_quiesce_daemon(srv->mhd);

	stop_workers(srv);
	MHD_stop_daemon(srv->mhd);
	if (fd != MHD_INVALID_SOCKET)
		close(fd); /* after quiesce, ours to close */
	unlink(srv->sock_path);
	pthread_cond_destroy(&srv->cond);
	pthread_mutex_destroy(&srv->lock);
	free(srv);
}
