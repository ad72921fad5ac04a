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
 * The pieces: hostview (where a decision's host networks come from), pools (the state
 * owner and its policy), ipam_api (the JSON endpoints over pools) and, with
 * SHARED_NETWORKS set, peer_sync, which publishes this host's networks and the swarm
 * pools held here and keeps a copy of every other node's (refreshed before global
 * decisions). check and suggest read the shared place once before answering.
 */
#include <errno.h>
#include <getopt.h>
#include <linux/capability.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "atomic_file.h"
#include "http_server.h"
#include "hostview.h"
#include "ipam_api.h"
#include "log.h"
#include "netlink.h"
#include "peer_sync.h"
#include "privs.h"
#include "resolvconf.h"
#include "settings.h"
#include "state.h"
#include "version.h"

#define DEFAULT_SOCKET "/run/docker/plugins/ipam.sock"
/* How long serving waits for the first publication and read of the shared place. */
#define FIRST_ROUND_WAIT_MS 4000

extern char **environ;

/* What a running plugin (or one CLI call) is made of. */
struct plugin {
	struct settings cfg;
	struct hostview hv;
	struct pools pools;
};

/* pools' host view: see hostview_read. */
static int plugin_hostnets(void *arg, bool global, struct hostnet_list *out, char *err,
			   size_t errlen)
{
	struct plugin *pl = arg;

	return hostview_read(&pl->hv, global, out, err, errlen);
}

/* The set of global pools changed: publish it soon. */
static void plugin_changed(void *arg)
{
	struct plugin *pl = arg;

	peer_sync_poke(hostview_peers(&pl->hv));
}

/* A pool was granted: publish before the reply (see struct pools). */
static void plugin_publish(void *arg)
{
	struct plugin *pl = arg;
	char err[512];

	if (peer_sync_publish_now(hostview_peers(&pl->hv), err, sizeof(err)) < 0)
		log_debug("peers: publication after a grant failed (retried soon): %s", err);
}

/* peer_sync's collect: this host's networks and the swarm pools held here. */
static int collect_own(void *arg, struct hostnet_list *out)
{
	struct plugin *pl = arg;
	char err[512];
	int ret = hostview_own(&pl->hv, out, err, sizeof(err));

	if (ret < 0)
		log_warnx("%s: %s", __func__, err);
	if (ret == 0)
		ret = pools_global_held(&pl->pools, out);
	return ret;
}

/* The preflight's line on the shared place. */
static bool peers_state(void *arg, char *buf, size_t len)
{
	struct plugin *pl = arg;
	struct peer_sync *ps = hostview_peers(&pl->hv);

	peer_sync_describe(ps, buf, len);
	return !ps || !strstr(buf, "UNREACHABLE");
}

/*
 * Start sharing networks when SHARED_NETWORKS is set: NULL when off or on failure.
 * read_only: read the other nodes' documents once and publish nothing (the CLI).
 */
static struct peer_sync *peers_start(struct plugin *pl, bool read_only)
{
	const struct settings *cfg = &pl->cfg;
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
	ps = peer_sync_start(&pc, collect_own, pl, err, sizeof(err));
	if (!ps)
		log_warnx("peers: not sharing networks: %s", err);
	return ps;
}

/* POOLS6=auto: this node's random ULA /48, chosen once and kept in the state directory. */
static int resolve_ula(struct settings *cfg, const char *state_dir, bool create, char *err,
		       size_t errlen)
{
	char c[CIDR_STRLEN];
	struct cidr ula;
	bool created;
	int ret;

	if (!cfg->pools6_auto)
		return 0;
	if (!create) {
		/* The CLI does not create state: without a saved prefix, no IPv6 choice. */
		char path[SETTINGS_PATH_LEN + 16];

		snprintf(path, sizeof(path), "%s/ula.json", state_dir);
		if (access(path, F_OK) < 0)
			return 0;
	}
	ret = state_ula(state_dir, &ula, &created, err, errlen);
	if (ret < 0)
		return ret;
	settings_set_ula(cfg, &ula);
	if (created)
		log_info("POOLS6=auto: chose the random ULA prefix %s for this node (RFC 4193), "
			 "kept in %s/ula.json",
			 cidr_format(&ula, c, sizeof(c)), state_dir);
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: ipam-plugin [serve] [--socket PATH] [--state-dir DIR]\n"
		"       ipam-plugin --version\n"
		"       ipam-plugin check CIDR [--state-dir DIR]\n"
		"       ipam-plugin suggest [--size N] [--v6] [--state-dir DIR]\n"
		"       (every verb: [--resolv-conf PATH], default " RESOLVCONF_PATH ",\n"
		"        [--resolved-conf PATH], default " RESOLVCONF_RESOLVED_PATH ")\n"
		"settings (environment): POOLS=%s POOLS6=%s ROUTES=%s EXCLUDE= LOG_LEVEL=info "
		"STATE_DIR=%s\n"
		"  SHARED_NETWORKS= (nfs://SERVER/EXPORT[?nfsport=N&mountport=N] or /dir) "
		"NODE_NAME=<host name> PUBLISH_INTERVAL=%d PEER_STALE_AFTER=%d NFS_TIMEOUT=%d\n",
		SETTINGS_DEFAULT_POOLS, SETTINGS_DEFAULT_POOLS6, SETTINGS_DEFAULT_ROUTES,
		SETTINGS_DEFAULT_STATE_DIR,
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
	const char *resolved_conf;
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
		{"resolved-conf", required_argument, NULL, 'R'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	int c;

	memset(a, 0, sizeof(*a));
	a->verb = "serve";
	a->socket = DEFAULT_SOCKET;
	a->resolv_conf = RESOLVCONF_PATH;
	a->resolved_conf = RESOLVCONF_RESOLVED_PATH;
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
		case 'R':
			a->resolved_conf = optarg;
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

/*
 * docker plugin upgrade keeps the env values of the old install, defaults included: an
 * install from before 1.1 keeps POOLS=10.0.0.0/8:24, which Docker's own allocator hands
 * out too. Say so, with the fix.
 */
static void warn_old_default(const struct settings *cfg)
{
	struct cidr old;
	char err[64];

	cidr_parse("10.0.0.0/8", CIDR_PARSE_STRICT, &old, err, sizeof(err));
	if (cfg->npools == 1 && cidr_equal(&cfg->pools[0].net, &old) && cfg->pools[0].size == 24)
		log_warnx("POOLS=10.0.0.0/8:24 (the default before 1.1, kept by docker plugin "
			  "upgrade) is where Docker's own swarm allocator hands out subnets too: "
			  "set the new default with docker plugin disable, docker plugin set "
			  "PLUGIN POOLS=" SETTINGS_DEFAULT_POOLS ", docker plugin enable (pools "
			  "in use keep their subnets)");
}

/* Set up pl's host view and pools (the state). Returns 0 or -errno with a message. */
static int plugin_init(struct plugin *pl, const struct args *a, bool serving, char *err,
		       size_t errlen)
{
	int ret;

	pl->hv.resolv_conf = a->resolv_conf;
	pl->hv.resolved_conf = a->resolved_conf;
	pl->hv.routes = &pl->cfg.routes;
	if (serving) {
		pl->hv.view = netlink_view_open(err, errlen);
		if (!pl->hv.view)
			return -EIO;
	}
	ret = resolve_ula(&pl->cfg, pl->cfg.state_dir, serving, err, errlen);
	if (ret < 0)
		return ret;
	ret = pools_init(&pl->pools, &pl->cfg, pl->cfg.state_dir, err, errlen);
	pl->pools.hostnets = plugin_hostnets;
	pl->pools.hostnets_arg = pl;
	pl->pools.changed = plugin_changed;
	pl->pools.changed_arg = pl;
	pl->pools.publish = plugin_publish;
	return ret;
}

static void plugin_fini(struct plugin *pl)
{
	peer_sync_stop(hostview_peers(&pl->hv));
	pools_fini(&pl->pools);
	if (pl->hv.view) {
		log_info("host view: %lu netlink dumps (a new one only after the kernel "
			 "reported a change)",
			 netlink_view_dumps(pl->hv.view));
		netlink_view_close(pl->hv.view);
	}
}

/*
 * Serve. config_error set: the settings are invalid; serve anyway (Docker would only
 * report that the socket never appeared) and refuse every request with the reason.
 */
static int serve(const struct args *a, struct plugin *pl, const char *config_error)
{
	static const int keep[] = {CAP_NET_BIND_SERVICE};
	char err[1024], line[4096];
	struct ipam_api api = {.pools = &pl->pools, .peers_state = peers_state, .peers_arg = pl};
	struct http_server *srv;
	sigset_t set;
	int sig, ret;

	/* Block the stop signals before any thread exists, so that only sigwait sees them. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	json_object_seed(0);

	ret = atomic_file_mkdirs(pl->cfg.state_dir, 0700);
	if (ret < 0) {
		errno = -ret;
		fatal("cannot create state directory %s", pl->cfg.state_dir);
	}
	/*
	 * Netlink dumps, the state and resolv.conf need no capability; a reserved source
	 * port for an NFS server exporting with "secure" does. Before any thread exists:
	 * threads inherit the capability sets.
	 */
	if (privs_limit(keep, sizeof(keep) / sizeof(keep[0]), err, sizeof(err)) < 0)
		fatalx("cannot drop privileges: %s", err);
	log_info("privileges: kept %s", privs_format(line, sizeof(line)));
	ret = plugin_init(pl, a, true, err, sizeof(err));
	if (ret < 0)
		fatalx("cannot load state: %s", err);
	log_info("settings: %s", settings_format(&pl->cfg, line, sizeof(line)));
	log_info("state: %d pools loaded from %s", ret, pl->cfg.state_dir);
	warn_old_default(&pl->cfg);
	if (config_error) {
		pools_set_config_error(&pl->pools, config_error);
	} else {
		/*
		 * Publish (and read the others) before serving, so that a leader's first
		 * decision after the operator's last `plugin install` already knows this
		 * node; bounded because Docker gives up on a socket that is not there
		 * within about 9.5 s. A failed round is retried with a short backoff.
		 */
		hostview_set_peers(&pl->hv, peers_start(pl, false));
		if (!peer_sync_wait_first(hostview_peers(&pl->hv), FIRST_ROUND_WAIT_MS))
			log_warnx("peers: the shared place did not answer within %d ms; serving, "
				  "and global decisions wait for it up to NFS_TIMEOUT",
				  FIRST_ROUND_WAIT_MS);
		peer_sync_describe(hostview_peers(&pl->hv), line, sizeof(line));
		log_info("peers: %s", line);
	}
	srv = http_server_start(a->socket, ipam_routes, ipam_nroutes, &api, err, sizeof(err));
	if (!srv)
		fatalx("cannot serve on %s: %s", a->socket, err);
	log_info("ipam-plugin %s serving the IpamDriver API on %s (address spaces %s, %s)",
		 OPENMPF_VERSION, a->socket, POOLS_LOCAL_SPACE, POOLS_GLOBAL_SPACE);
	do {
		ret = sigwait(&set, &sig);
	} while (ret != 0);
	log_info("signal %d: stopping", sig);
	http_server_stop(srv);
	plugin_fini(pl);
	log_info("stopped; state is in %s", pl->cfg.state_dir);
	return 0;
}

/*
 * The CLI verbs consider the other nodes too: one synchronous read-only round
 * (peer_sync_start runs it before returning). Publishing stays with the running plugin:
 * a second writer under the same NODE_NAME would look like a namesake to it. The state
 * of the shared place goes to stderr.
 */
static void cli_peers(struct plugin *pl, const char *verb)
{
	struct peer_sync *ps = peers_start(pl, true);
	char line[2048];

	hostview_set_peers(&pl->hv, ps);
	if (ps) {
		peer_sync_describe(ps, line, sizeof(line));
		fprintf(stderr, "ipam-plugin %s: %s\n", verb, line);
	}
}

static int cli_check(const struct args *a, struct plugin *pl)
{
	struct pa_reasons culprits = {0};
	char err[1024], c[CIDR_STRLEN];
	struct cidr net, sug;
	bool has_sug;
	int ret;

	if (cidr_parse(a->cidr, CIDR_PARSE_STRICT, &net, err, sizeof(err)) < 0) {
		fprintf(stderr, "ipam-plugin check: %s\n", err);
		return 2;
	}
	if (plugin_init(pl, a, false, err, sizeof(err)) < 0) {
		fprintf(stderr, "ipam-plugin check: cannot load state: %s\n", err);
		plugin_fini(pl);
		return 2;
	}
	cli_peers(pl, "check");
	ret = pools_explain_check(&pl->pools, &net, &culprits, &sug, &has_sug, err, sizeof(err));
	cidr_format(&net, c, sizeof(c));
	if (ret < 0) {
		fprintf(stderr, "ipam-plugin check: %s\n", err);
		ret = 2;
	} else if (ret == 0) {
		printf("%s is free: it overlaps no interface or route of this host%s, excluded "
		       "range or pool in use\n",
		       c, hostview_peers(&pl->hv) ? " or of the other nodes" : "");
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
	plugin_fini(pl);
	return ret;
}

static int cli_suggest(const struct args *a, struct plugin *pl)
{
	int family = a->v6 ? AF_INET6 : AF_INET;
	struct pa_reasons why = {0};
	char err[1024], c[CIDR_STRLEN];
	unsigned int size = 0;
	struct cidr out;
	int ret;

	if (plugin_init(pl, a, false, err, sizeof(err)) < 0) {
		fprintf(stderr, "ipam-plugin suggest: cannot load state: %s\n", err);
		plugin_fini(pl);
		return 2;
	}
	if (a->size) {
		const struct pa_range *r = a->v6 ? pl->cfg.pools6 : pl->cfg.pools;
		size_t n = a->v6 ? pl->cfg.npools6 : pl->cfg.npools;

		if (settings_parse_size(a->size, family, r, n, &size, err, sizeof(err)) < 0) {
			fprintf(stderr, "ipam-plugin suggest: --%s\n", err);
			plugin_fini(pl);
			return 2;
		}
	}
	cli_peers(pl, "suggest");
	ret = pools_explain_suggest(&pl->pools, family, size, &out, &why, err, sizeof(err));
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
	plugin_fini(pl);
	return ret;
}

int main(int argc, char **argv)
{
	static struct plugin pl;
	static char config_error[1536];
	char *no_env[] = {NULL};
	struct args a;
	char err[1024];
	int ret;

	if (parse_args(argc, argv, &a) < 0) {
		usage(stderr);
		return 2;
	}
	ret = settings_parse(environ, &pl.cfg, err, sizeof(err));
	if (ret == 0 && pl.cfg.shared_networks[0]) {
		char host[HOSTNET_NODE_LEN + 1] = "";

		/* A longer (truncated) name fails validation, which asks for NODE_NAME. */
		if (gethostname(host, sizeof(host) - 1) < 0)
			host[0] = '\0';
		ret = settings_default_node(&pl.cfg, host, err, sizeof(err));
	}
	if (ret < 0 && strcmp(a.verb, "serve") != 0) {
		fprintf(stderr, "ipam-plugin: invalid setting: %s\n", err);
		return 2;
	}
	if (ret < 0) {
		/* Serve with the defaults, refusing every request with the reason. */
		snprintf(config_error, sizeof(config_error),
			 "the IPAM plugin is not configured: invalid setting %s. Fix it with: "
			 "docker plugin disable PLUGIN; docker plugin set PLUGIN NAME=VALUE; "
			 "docker plugin enable PLUGIN (PLUGIN: openmpf/ipam:latest or the name it "
			 "was installed as)",
			 err);
		settings_parse(no_env, &pl.cfg, err, sizeof(err));
	}
	/* --state-dir wins over STATE_DIR, and the logged settings say so. */
	if (a.state_dir)
		snprintf(pl.cfg.state_dir, sizeof(pl.cfg.state_dir), "%s", a.state_dir);
	if (strcmp(a.verb, "serve") == 0) {
		log_init("ipam-plugin", pl.cfg.log_level);
		if (ret < 0)
			log_errorx("%s; answering every request with this error", config_error);
		return serve(&a, &pl, ret < 0 ? config_error : NULL);
	}
	log_init("ipam-plugin", LOG_LEVEL_WARN);
	if (strcmp(a.verb, "check") == 0)
		return cli_check(&a, &pl);
	return cli_suggest(&a, &pl);
}
