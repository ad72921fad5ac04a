/* SPDX-License-Identifier: MIT */
/*
 * http_server: the Docker plugin transport. HTTP/1.1 over an AF_UNIX socket with
 * libmicrohttpd, one thread per connection (dockerd calls in parallel over keep-alive
 * connections), POST only, JSON in and out.
 *
 * Each request body is parsed with jsonutil_parse_request (empty body -> {}), malformed
 * JSON is answered by the server itself. A handler returns a new reference to the reply
 * object; a reply holding a non-empty string "Err" is sent with HTTP 500, anything else
 * with 200. A NULL reply is sent as 500 {"Err":"internal error"}. Unknown paths get 404,
 * other methods 405, bodies over 1 MiB 413, each with an {"Err": ...} body.
 *
 * Handlers run concurrently on the server's threads: shared state needs its own lock.
 */
#ifndef SHARED_HTTP_SERVER_H
#define SHARED_HTTP_SERVER_H

#include <stddef.h>

#include <jansson.h>

typedef json_t *(*http_handler_fn)(void *ctx, json_t *request);

struct http_route {
	const char *path; /* e.g. "/IpamDriver.RequestPool" */
	http_handler_fn handler;
};

struct http_server;

/*
 * Listen on sock_path (a stale socket file is replaced; parent dirs are created; mode
 * 0660) and serve routes (borrowed; must outlive the server) with ctx. Returns the server,
 * or NULL with a message in err.
 */
struct http_server *http_server_start(const char *sock_path, const struct http_route *routes,
				      size_t nroutes, void *ctx, char *err, size_t errlen);

/*
 * For a handler, before it returns an error reply that is a routine answer rather than a
 * failure (dockerd asks every volume driver Get before each create; "no such volume" is
 * the normal answer): that reply is logged at debug instead of info. Per request.
 */
void http_server_routine_failure(void);

/* Stop accepting, wait for running handlers, close and unlink the socket. NULL-safe. */
void http_server_stop(struct http_server *srv);

#endif
