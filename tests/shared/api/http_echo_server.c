// SPDX-License-Identifier: MIT
/*
 * A minimal server on shared/http_server for the transport tests: /Test.Echo returns the
 * request, /Test.Fail returns an Err, /Test.Slow waits 300 ms, /Test.Barrier answers
 * once three calls are inside at the same time, /Test.Quote refuses quoting the request's
 * "Name" (as handlers quote names from dockerd). Exits 0 on SIGTERM after http_server_stop.
 */
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "http_server.h"
#include "jsonutil.h"
#include "log.h"

static json_t *echo(void *ctx, json_t *req)
{
	(void)ctx;
	return json_pack("{s:O}", "Echo", req);
}

static json_t *fail(void *ctx, json_t *req)
{
	(void)ctx;
	(void)req;
	return jsonutil_error("refused on purpose");
}

static json_t *quote(void *ctx, json_t *req)
{
	(void)ctx;
	return jsonutil_error("refused %s on purpose",
			      json_string_value(json_object_get(req, "Name")));
}

static json_t *slow(void *ctx, json_t *req)
{
	(void)ctx;
	(void)req;
	usleep(300000);
	return json_object();
}

/* Waits until three callers are inside at once (or 5 s pass): proves parallel handling. */
static pthread_mutex_t barrier_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t barrier_cond = PTHREAD_COND_INITIALIZER;
static int barrier_count;

static json_t *barrier(void *ctx, json_t *req)
{
	struct timespec deadline;
	bool met;

	(void)ctx;
	(void)req;
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += 5;
	pthread_mutex_lock(&barrier_lock);
	barrier_count++;
	pthread_cond_broadcast(&barrier_cond);
	while (barrier_count < 3) {
		if (pthread_cond_timedwait(&barrier_cond, &barrier_lock, &deadline))
			break;
	}
	met = barrier_count >= 3;
	pthread_mutex_unlock(&barrier_lock);
	return json_pack("{s:b}", "Met", met);
}

static const struct http_route routes[] = {
	{"/Test.Barrier", barrier}, {"/Test.Echo", echo}, {"/Test.Fail", fail},
	{"/Test.Quote", quote},	    {"/Test.Slow", slow},
};

int main(int argc, char **argv)
{
	struct http_server *srv;
	char err[256];
	sigset_t set;
	int sig;

	if (argc != 2) {
		fprintf(stderr, "usage: %s SOCKET\n", argv[0]);
		return 2;
	}
	log_init("echo", getenv("ECHO_LOG_INFO") ? LOG_LEVEL_INFO : LOG_LEVEL_DEBUG);
	json_object_seed(0);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	srv = http_server_start(argv[1], routes, sizeof(routes) / sizeof(routes[0]), NULL, err,
				sizeof(err));
	if (!srv)
		fatalx("%s", err);
	sigwait(&set, &sig);
	http_server_stop(srv);
	return 0;
}
