/* SPDX-License-Identifier: MIT */
/*
 * testlib: helpers for API tests that run the real plugin binaries. Start a process,
 * poll for a condition with a deadline (failing early if the process died, like libfuse's
 * test/util.py wait_for_mount), and speak HTTP/1.1 over AF_UNIX exactly as dockerd does
 * (POST, empty Host, Content-Length, no Content-Type).
 */
#ifndef TESTLIB_H
#define TESTLIB_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <jansson.h>

/* fork+exec argv (argv[0] is a path) with extra environment entries ("K=V", NULL-terminated,
 * may be NULL) added to the current environment; stdout/stderr go to log_path (appended)
 * when not NULL. Returns the pid or -1. */
pid_t tl_spawn(char *const argv[], char *const extra_env[], const char *log_path);

/* SIGTERM pid and wait up to timeout_ms; SIGKILL after. Returns the exit status as from
 * waitpid (or -1). */
int tl_stop(pid_t pid, int sig, int timeout_ms);

/* True if pid has not exited (reaps it if it has; *status gets the wait status). */
bool tl_alive(pid_t pid, int *status);

typedef bool (*tl_probe_fn)(void *arg);
/* Poll probe every 20 ms until it returns true (-> true), timeout_ms passes or watch_pid
 * (if > 0) exits (-> false). */
bool tl_wait_until(int timeout_ms, pid_t watch_pid, tl_probe_fn probe, void *arg);

/* A socket file exists at path and accepts a connection. */
bool tl_socket_ready(void *path);

/*
 * One POST over a new connection to the unix socket. body may be NULL (sent as an empty
 * body, Content-Length: 0). Returns the HTTP status (or -1 on transport error) and, if
 * resp is not NULL, the body as a new NUL-terminated string (caller frees).
 */
int tl_http_post(const char *sock_path, const char *path, const char *body, char **resp);

/* Same, with a raw request (for malformed-request tests); returns status or -1. */
int tl_http_raw(const char *sock_path, const char *raw_request, size_t len, char **resp);

/* tl_http_post and parse the reply as JSON (new reference, NULL if not JSON). */
json_t *tl_call(const char *sock_path, const char *path, const char *body, int *status);

/*
 * Run the test case tc (takes ownership) as the one case of a suite named suite_name, with
 * CK_NORMAL output, and return the process exit status: EXIT_SUCCESS when every test
 * passed. The common tail of every test main().
 */
struct TCase;
int tl_run_tcase(const char *suite_name, struct TCase *tc);

/* A fresh temporary directory (mkdtemp under /tmp with the given prefix); caller frees. */
char *tl_tmpdir(const char *prefix);
/* rm -rf path (best effort). */
void tl_rmtree(const char *path);

#endif
