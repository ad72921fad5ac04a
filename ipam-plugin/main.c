// SPDX-License-Identifier: MIT
/*
 * ipam-plugin: the Docker IPAM driver process and its operator CLI.
 *
 *   ipam-plugin [serve] [--socket PATH] [--state-dir DIR]
 *   ipam-plugin check CIDR [--state-dir DIR]
 *   ipam-plugin suggest [--size N] [--v6] [--state-dir DIR]
 *
 * Every verb also takes --resolv-conf PATH (default /etc/resolv.conf), where the host's
 * DNS servers are read from (tests point it elsewhere).
 * Settings come from the environment (see settings.h). Serving stops cleanly on SIGTERM
 * or SIGINT: the HTTP server drains running requests; every change is already on disk.
 *
 * With SHARED_NETWORKS set, peer_sync publishes this host's networks (netlink view plus
 * DNS servers) and keeps a copy of every other node's; the host view of every decision
 * appends that copy (ipam_api uses it for the global space only). check and suggest read
 * the shared place once before answering.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "atomic_file.h"
#include "http_server.h"
#include "ipam_api.h"
#include "log.h"
#include "netlink.h"
#include "peer_sync.h"
#include "resolvconf.h"
#include "settings.h"
#include "version.h"

#define DEFAULT_SOCKET "/run/docker/plugins/ipam.sock"

extern char **environ;

struct host_source {
	const char *resolv_conf;
	struct netlink_view *view; /* NULL: a fresh dump every time (CLI) */
	struct peer_sync *peers;   /* NULL: off; set and cleared with __atomic builtins */
};

/* This host's networks: netlink (addresses, routes) plus DNS servers. */
static int own_view(void *arg, struct hostnet_list *out, char *err, size_t errlen)
{
	const struct host_source *src = arg;
	const char *resolv = src->resolv_conf;
	char *text = NULL;
	size_t len;
	int ret;

	ret = src->view ? netlink_view_read(src->view, out, err, errlen)
			: netlink_read_hostnets(out, err, errlen);
	if (ret < 0)
		return ret;
	/* No resolv.conf (or an unreadable one) means no nameservers to avoid. */
	if (atomic_file_read(resolv, 1 << 20, &text, &len) == 0) {
		ret = resolvconf_parse(text, out);
		free(text);
		if (ret < 0) {
			snprintf(err, errlen, "out of memory reading %s", resolv);
			return ret;
		}
	}
	return 0;
}

/* The host view for every decision: this host's networks, then the other nodes'. */
static int host_view(void *arg, struct hostnet_list *out, char *err, size_t errlen)
{
	struct host_source *src = arg;
	int ret = own_view(arg, out, err, errlen);

	if (ret == 0 &&
	    peer_sync_snapshot(__atomic_load_n(&src->peers, __ATOMIC_ACQUIRE), out) < 0) {
		snprintf(err, errlen, "out of memory copying the other nodes' networks");
		ret = -ENOMEM;
	}
	return ret;
}

/* peer_sync's collect: what this node publishes (never the peers' entries). */
static int collect_own(void *arg, struct hostnet_list *out)
{
	char err[512];
	int ret = own_view(arg, out, err, sizeof(err));

	if (ret < 0)
		log_warnx("%s: %s", __func__, err);
	return ret;
}

/*
 * Start sharing networks when SHARED_NETWORKS is set: NULL when off or on failure.
 * read_only: read the other nodes' documents once and publish nothing (the CLI).
 */
static struct peer_sync *peers_start(const struct settings *cfg, struct host_source *src,
				     bool read_only)
{
	struct peer_sync_config pc = {
		.location = cfg->shared_networks,
		.node = cfg->node_name,
		.interval_s = cfg->publish_interval,
		.stale_after_s = cfg->peer_stale_after,
		.timeout_s = cfg->nfs_timeout,
		.read_only = read_only,
	};
	struct peer_sync *ps;
	char err[1024];

	if (!cfg->shared_networks[0])
		return NULL;
	ps = peer_sync_start(&pc, collect_own, src, err, sizeof(err));
	if (!ps)
		log_warnx("peers: not sharing networks: %s", err);
	return ps;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: ipam-plugin [serve] [--socket PATH] [--state-dir DIR]\n"
		"       ipam-plugin --version\n"
		"       ipam-plugin check CIDR [--state-dir DIR]\n"
		"       ipam-plugin suggest [--size N] [--v6] [--state-dir DIR]\n"
		"       (every verb: [--resolv-conf PATH], default " RESOLVCONF_PATH ")\n"
		"settings (environment): POOLS=%s POOLS6=%s EXCLUDE= LOG_LEVEL=info "
		"STATE_DIR=%s\n"
		"  SHARED_NETWORKS= (nfs://SERVER/EXPORT[?nfsport=N&mountport=N] or /dir) "
		"NODE_NAME=<host name> PUBLISH_INTERVAL=%d PEER_STALE_AFTER=%d NFS_TIMEOUT=%d\n",
		SETTINGS_DEFAULT_POOLS, SETTINGS_DEFAULT_POOLS6, SETTINGS_DEFAULT_STATE_DIR,
		SETTINGS_DEFAULT_PUBLISH_INTERVAL, SETTINGS_DEFAULT_PEER_STALE_AFTER,
		SETTINGS_DEFAULT_NFS_TIMEOUT);
}

struct args {
	const char *verb;
	const char *socket;
	const char *state_dir;
	const char *size;
	const char *cidr;
	const char *resolv_conf;
	bool v6;
};

static int parse_args(int argc, char **argv, struct args *a)
{
	static const struct option opts[] = {
		{"socket", required_argument, NULL, 's'},
		{"state-dir", required_argument, NULL, 'd'},
		{"size", required_argument, NULL, 'n'},
		{"v6", no_argument, NULL, '6'},
		{"resolv-conf", required_argument, NULL, 'r'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	int c;

	memset(a, 0, sizeof(*a));
	a->verb = "serve";
	a->socket = DEFAULT_SOCKET;
	a->resolv_conf = RESOLVCONF_PATH;
	if (argc > 1 && argv[1][0] != '-') {
		a->verb = argv[1];
		argv++;
		argc--;
	}
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			a->socket = optarg;
			break;
		case 'd':
			a->state_dir = optarg;
			break;
		case 'n':
			a->size = optarg;
			break;
		case '6':
			a->v6 = true;
			break;
		case 'r':
			a->resolv_conf = optarg;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case 'V':
			printf("ipam-plugin %s\n", OPENMPF_VERSION);
			exit(0);
		default:
			return -EINVAL;
		}
	}
	if (strcmp(a->verb, "check") == 0) {
		if (optind != argc - 1)
			return -EINVAL;
		a->cidr = argv[optind];
		return 0;
	}
	if (optind != argc)
		return -EINVAL;
	if (strcmp(a->verb, "serve") && strcmp(a->verb, "suggest"))
		return -EINVAL;
	return 0;
}

static int serve(const struct args *a, const struct settings *cfg, const char *state_dir)
{
	char err[1024], line[4096];
	struct host_source src = {.resolv_conf = a->resolv_conf};
	struct http_server *srv;
	struct ipam ip;
	sigset_t set;
	int sig, ret;

	/* Block the stop signals before any thread exists, so that only sigwait sees them. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	json_object_seed(0);

	ret = atomic_file_mkdirs(state_dir, 0700);
	if (ret < 0) {
		errno = -ret;
		fatal("cannot create state directory %s", state_dir);
	}
	src.view = netlink_view_open(err, sizeof(err));
	if (!src.view)
		fatalx("%s", err);
	ret = ipam_init(&ip, cfg, state_dir, host_view, &src, err, sizeof(err));
	if (ret < 0)
		fatalx("cannot load state: %s", err);
	log_info("settings: %s", settings_format(cfg, line, sizeof(line)));
	log_info("state: %d pools loaded from %s", ret, state_dir);
	srv = http_server_start(a->socket, ipam_routes, ipam_nroutes, &ip, err, sizeof(err));
	if (!srv)
		fatalx("cannot serve on %s: %s", a->socket, err);
	log_info("ipam-plugin %s serving the IpamDriver API on %s (address spaces %s, %s)",
		 OPENMPF_VERSION, a->socket, IPAM_LOCAL_SPACE, IPAM_GLOBAL_SPACE);
	/*
	 * After the socket exists: the first round may wait for an NFS server (up to
	 * NFS_TIMEOUT and a connect), and Docker stops a plugin whose socket is not there
	 * within about 9.5 s. Decisions before it ends see this host's networks only.
	 */
	__atomic_store_n(&src.peers, peers_start(cfg, &src, false), __ATOMIC_RELEASE);
	peer_sync_describe(src.peers, line, sizeof(line));
	log_info("peers: %s", line);
	do {
		ret = sigwait(&set, &sig);
	} while (ret != 0);
	log_info("signal %d: stopping", sig);
	http_server_stop(srv);
	peer_sync_stop(src.peers);
	ipam_fini(&ip);
	log_info("host view: %lu netlink dumps (a new one only after the kernel reported a change)",
		 netlink_view_dumps(src.view));
	netlink_view_close(src.view);
	log_info("stopped; state is in %s", state_dir);
	return 0;
}

/*
 * The CLI verbs consider the other nodes too: one synchronous read-only round
 * (peer_sync_start runs it before returning). Publishing stays with the running plugin:
 * a second writer under the same NODE_NAME would look like a namesake to it. The state
 * of the shared place goes to stderr.
 */
static struct peer_sync *cli_peers(const struct settings *cfg, struct host_source *src,
				   const char *verb)
{
	struct peer_sync *ps = peers_start(cfg, src, true);
	char line[2048];

	if (ps) {
		peer_sync_describe(ps, line, sizeof(line));
		fprintf(stderr, "ipam-plugin %s: %s\n", verb, line);
	}
	return ps;
}

static int cli_check(const struct args *a, const struct settings *cfg, const char *state_dir)
{
	struct host_source src = {.resolv_conf = a->resolv_conf};
	struct pa_reasons culprits = {0};
	char err[1024], c[CIDR_STRLEN];
	struct cidr net, sug;
	struct ipam ip;
	bool has_sug;
	int ret;

	if (cidr_parse(a->cidr, CIDR_PARSE_STRICT, &net, err, sizeof(err)) < 0) {
		fprintf(stderr, "ipam-plugin check: %s\n", err);
		return 2;
	}
	if (ipam_init(&ip, cfg, state_dir, host_view, &src, err, sizeof(err)) < 0) {
		fprintf(stderr, "ipam-plugin check: cannot load state: %s\n", err);
		ipam_fini(&ip);
		return 2;
	}
	src.peers = cli_peers(cfg, &src, "check");
	ret = ipam_explain_check(&ip, &net, &culprits, &sug, &has_sug, err, sizeof(err));
	cidr_format(&net, c, sizeof(c));
	if (ret < 0) {
		fprintf(stderr, "ipam-plugin check: %s\n", err);
		ret = 2;
	} else if (ret == 0) {
		printf("%s is free: it overlaps no interface or route of this host%s, excluded "
		       "range or pool in use\n",
		       c, src.peers ? " or of the other nodes" : "");
	} else {
		printf("%s collides with %d network%s:\n", c, ret, ret == 1 ? "" : "s");
		for (size_t i = 0; i < culprits.n; i++)
			printf("  %s\n", culprits.line[i]);
		if (culprits.dropped)
			printf("  ... and %zu more\n", culprits.dropped);
		if (has_sug)
			printf("suggestion: %s\n", cidr_format(&sug, c, sizeof(c)));
		else
			printf("suggestion: none (no free /%u in the candidate ranges)\n",
			       net.prefix);
		ret = 1;
	}
	pa_reasons_fini(&culprits);
	peer_sync_stop(src.peers);
	ipam_fini(&ip);
	return ret;
}

static int cli_suggest(const struct args *a, const struct settings *cfg, const char *state_dir)
{
	struct host_source src = {.resolv_conf = a->resolv_conf};
	int family = a->v6 ? AF_INET6 : AF_INET;
	struct pa_reasons why = {0};
	char err[1024], c[CIDR_STRLEN];
	unsigned int size = 0;
	struct cidr out;
	struct ipam ip;
	int ret;

	if (a->size) {
		const struct pa_range *r = a->v6 ? cfg->pools6 : cfg->pools;
		size_t n = a->v6 ? cfg->npools6 : cfg->npools;

		if (settings_parse_size(a->size, family, r, n, &size, err, sizeof(err)) < 0) {
			fprintf(stderr, "ipam-plugin suggest: --%s\n", err);
			return 2;
		}
	}
	if (ipam_init(&ip, cfg, state_dir, host_view, &src, err, sizeof(err)) < 0) {
		fprintf(stderr, "ipam-plugin suggest: cannot load state: %s\n", err);
		ipam_fini(&ip);
		return 2;
	}
	src.peers = cli_peers(cfg, &src, "suggest");
	ret = ipam_explain_suggest(&ip, family, size, &out, &why, err, sizeof(err));
	for (size_t i = 0; i < why.n; i++)
		fprintf(stderr, "%s\n", why.line[i]);
	if (why.dropped)
		fprintf(stderr, "... and %zu more\n", why.dropped);
	if (ret < 0) {
		fprintf(stderr, "ipam-plugin suggest: %s\n", err);
		ret = 1;
	} else {
		printf("%s\n", cidr_format(&out, c, sizeof(c)));
	}
	pa_reasons_fini(&why);
	peer_sync_stop(src.peers);
	ipam_fini(&ip);
	return ret;
}

int main(int argc, char **argv)
{
	struct settings cfg;
	struct args a;
	char err[1024];
	const char *state_dir;

	if (parse_args(argc, argv, &a) < 0) {
		usage(stderr);
		return 2;
	}
	if (settings_parse(environ, &cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "ipam-plugin: invalid setting: %s\n", err);
		return 2;
	}
	/* --state-dir wins over STATE_DIR, and the logged settings say so. */
	if (a.state_dir)
		snprintf(cfg.state_dir, sizeof(cfg.state_dir), "%s", a.state_dir);
	if (cfg.shared_networks[0]) {
		char host[HOSTNET_NODE_LEN + 1] = "";

		/* A longer (truncated) name fails validation, which asks for NODE_NAME. */
		if (gethostname(host, sizeof(host) - 1) < 0)
			host[0] = '\0';
		if (settings_default_node(&cfg, host, err, sizeof(err)) < 0) {
			fprintf(stderr, "ipam-plugin: invalid setting: %s\n", err);
			return 2;
		}
	}
	state_dir = cfg.state_dir;
	if (strcmp(a.verb, "serve") == 0) {
		log_init("ipam-plugin", cfg.log_level);
		return serve(&a, &cfg, state_dir);
	}
	log_init("ipam-plugin", LOG_LEVEL_WARN);
	if (strcmp(a.verb, "check") == 0)
		return cli_check(&a, &cfg, state_dir);
	return cli_suggest(&a, &cfg, state_dir);
}
