/* SPDX-License-Identifier: MIT */
/*
 * A tiny HTTP/1.1 client for the request-path harnesses: one POST over a new AF_UNIX
 * connection, as dockerd sends it, and the invariant every reply must meet.
 */
#ifndef FUZZ_HTTP_CLIENT_H
#define FUZZ_HTTP_CLIENT_H

#include <stddef.h>
#include <stdint.h>

/* URL of the request: one of paths[] chosen by the first byte, or (past the end) the
 * following bytes up to a NUL, percent-encoded. *used gets the bytes consumed. */
void fuzz_pick_url(const uint8_t *data, size_t size, const char *const *paths, size_t npaths,
		   char *url, size_t urllen, size_t *used);

/*
 * POST body to url on the unix socket at sock and check the reply: exactly one HTTP/1.1
 * response with a status the server may send (200, 404, 405, 413, 500), whose body is a
 * JSON object; a non-200 one carries a non-empty "Err" of valid, control-free UTF-8.
 * Aborts (a crash libFuzzer reports) when it does not.
 */
void fuzz_post_and_check(const char *sock, const char *url, const uint8_t *body, size_t len);

/* Remove dir (and everything in it) when the process exits. dir must stay valid. */
void fuzz_remove_at_exit(const char *dir);

#endif
