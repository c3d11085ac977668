/* mitan: the composition root. Parses the subcommand, loads the configuration and wires
 * the parts together. */
#include <curl/curl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "config.h"
#include "crypto.h"
#include "db.h"
#include "http.h"
#include "log.h"
#include "migrate.h"
#include "planner/plan.h"
#include "cmd/routes.h"
#include "scheduler/sched.h"
#include "seed/seed.h"
#include "planner/solomon.h"

static void usage(void)
{
	fprintf(
	    stderr,
	    "usage: mitan [--config FILE] COMMAND [options]\n"
	    "\n"
	    "commands:\n"
	    "  serve             HTTP server: the API under /api/v1, the web front ends, /healthz /readyz /metrics\n"
	    "  migrate           apply sql/NNN_*.sql in order, each once\n"
	    "  seed [--demo]     load the service catalogue; --demo adds the demo city (Raipur) and its accounts\n"
	    "  worker [--once]   run jobs and deliver SMS; --once runs what is due now and exits\n"
	    "  check-config      print every setting, its value and where it came from, then the unsafe ones;\n"
	    "                    exits 1 when MITAN_ENV is prod and a setting is unsafe\n"
	    "  plan --solomon FILE [--seed S] [--time-limit SECONDS] [--iterations N]\n"
	    "                    plan routes for a Solomon VRPTW instance; prints JSON\n"
	    "  plan --date YYYY-MM-DD [--zone Z] [--seed S] [--time-limit SECONDS] [--baseline]\n"
	    "                    plan each zone's day from the database and store the routes\n"
	    "\n");
	config_usage();
}

/* A production server or worker does not start on settings meant for development or
 * unsafe in front of the public; each is named on a line of its own. */
static int startup_safe_or_refuse(void)
{
	if (config_is_dev())
		return 0;
	int n = config_unsafe(stderr, "mitan: unsafe in prod: ");
	if (n == 0)
		return 0;
	fprintf(stderr,
	        "mitan: refusing to start with %d unsafe setting%s (`mitan check-config` shows them all; "
	        "MITAN_ENV=dev for a development server)\n",
	        n, n == 1 ? "" : "s");
	return -1;
}

/* Loads everything a command needs: configuration, logging, clock, secret, database.
 * `serving`: serve and worker, which face the public and refuse unsafe production settings. */
static int startup(const char *config_file, int need_secret, int serving)
{
	char err[512];
	enum log_level level;
	if (config_load(config_file, err, sizeof err) != 0) {
		fprintf(stderr, "mitan: configuration error: %s\n", err);
		return -1;
	}
	/* Before the secret is loaded: a missing one must be refused, not made afresh. */
	if (serving && startup_safe_or_refuse() != 0)
		return -1;
	log_level_parse(cfg.log_level, &level);
	log_set_level(level);
	if (cfg.now[0] && !config_is_dev()) {
		fprintf(stderr,
		        "mitan: configuration error: MITAN_NOW is honoured only when MITAN_ENV is dev or test\n");
		return -1;
	}
	if (cfg.now[0] && clock_set(cfg.now) != 0) {
		fprintf(stderr, "mitan: configuration error: MITAN_NOW must be an RFC 3339 timestamp, got \"%s\"\n",
		        cfg.now);
		return -1;
	}
	if (need_secret) {
		char path[4096];
		config_secret_path(path, sizeof path);
		if (crypto_secret_init(path, err, sizeof err) != 0) {
			fprintf(stderr, "mitan: %s (is MITAN_DATA=%s a writable directory?)\n", err, cfg.data);
			return -1;
		}
	}
	if (db_init(err, sizeof err) != 0) {
		fprintf(stderr, "mitan: %s\n", err);
		return -1;
	}
	if (db_ping() != 0) {
		fprintf(stderr, "mitan: the database does not answer (see the error above); is the cluster running? "
		                "`ops/pg.sh start` starts the embedded one\n");
		return -1;
	}
	return 0;
}

/* The effective configuration and its unsafe settings; needs neither secret nor database. */
static int cmd_check_config(const char *config_file)
{
	char err[512];
	if (config_load(config_file, err, sizeof err) != 0) {
		fprintf(stderr, "mitan: configuration error: %s\n", err);
		return 1;
	}
	int dev = config_is_dev();
	config_print(stdout);
	printf("\n");
	int n = config_unsafe(stdout, dev ? "not for prod: " : "unsafe: ");
	if (n == 0)
		printf("env %s: no unsafe setting\n", cfg.env);
	else if (dev)
		printf("env %s: %d setting%s would be refused in prod, allowed here\n", cfg.env, n, n == 1 ? "" : "s");
	else
		printf("env %s: %d unsafe setting%s: serve and worker refuse to start\n", cfg.env, n,
		       n == 1 ? "" : "s");
	return !dev && n > 0 ? 1 : 0;
}

static volatile sig_atomic_t housekeeping_stop;

/* Seals the audit chain every second or so; one sealer at a time across processes. */
static void *housekeeping(void *arg)
{
	static const char seal[] = "SELECT audit_seal()";
	(void)arg;
	while (!housekeeping_stop) {
		db_run(seal, 0, NULL);
		db_release();
		for (int i = 0; i < 10 && !housekeeping_stop; i++) {
			struct timespec ts = {0, 100 * 1000 * 1000};
			nanosleep(&ts, NULL);
		}
	}
	db_shutdown();
	return NULL;
}

static int cmd_serve(void)
{
	char err[512];
	sigset_t set;
	int sig = 0;
	pthread_t hk;

	/* Block the stop signals in every thread; the main thread waits for them. */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (http_start(routes, routes_count, routes_prefixes, err, sizeof err) != 0) {
		fprintf(stderr, "mitan: %s\n", err);
		return 1;
	}
	pthread_create(&hk, NULL, housekeeping, NULL);
	if (cfg.worker_in_process && sched_start() != 0)
		log_error("the in-process worker did not start; run `mitan worker`");
	log_info("serving on http://%s:%ld (env %s, sms driver %s)", cfg.listen, cfg.port, cfg.env, cfg.sms_driver);
	sigwait(&set, &sig);
	log_info("signal %d: stopping", sig);
	sched_stop();
	housekeeping_stop = 1;
	http_stop();
	pthread_join(hk, NULL);
	log_info("stopped");
	return 0;
}

int main(int argc, char **argv)
{
	const char *config_file = NULL;
	int argi = 1, rc = 1;

	if (argi + 1 < argc && strcmp(argv[argi], "--config") == 0) {
		config_file = argv[argi + 1];
		argi += 2;
	}
	if (argi >= argc || strcmp(argv[argi], "-h") == 0 || strcmp(argv[argi], "--help") == 0) {
		usage();
		return argi >= argc ? 2 : 0;
	}
	const char *cmd = argv[argi++];
	/* Planning a benchmark file needs neither configuration nor database. */
	if (strcmp(cmd, "plan") == 0 && argi < argc && strncmp(argv[argi], "--solomon", 9) == 0)
		return solomon_plan_main(argc - argi, argv + argi);
	if (strcmp(cmd, "check-config") == 0) {
		rc = argi < argc ? 2 : cmd_check_config(config_file);
		if (rc == 2)
			fprintf(stderr, "mitan: check-config takes no options\n");
		config_free();
		return rc;
	}
	if (strcmp(cmd, "serve") != 0 && strcmp(cmd, "migrate") != 0 && strcmp(cmd, "seed") != 0 &&
	    strcmp(cmd, "worker") != 0 && strcmp(cmd, "plan") != 0) {
		fprintf(stderr, "mitan: unknown command \"%s\"\n\n", cmd);
		usage();
		return 2;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT); /* once, before any thread */
	int serving = strcmp(cmd, "serve") == 0 || strcmp(cmd, "worker") == 0;
	if (startup(config_file, strcmp(cmd, "migrate") != 0, serving) != 0)
		goto out;
	if (strcmp(cmd, "serve") == 0) {
		rc = cmd_serve();
	} else if (strcmp(cmd, "worker") == 0) {
		int once = argi < argc && strcmp(argv[argi], "--once") == 0;
		if (argi + once < argc) {
			fprintf(stderr, "mitan: worker takes only --once\n");
			rc = 2;
			goto out;
		}
		rc = sched_run(once);
	} else if (strcmp(cmd, "plan") == 0) {
		rc = plan_main(argc - argi, argv + argi);
	} else if (strcmp(cmd, "migrate") == 0) {
		rc = migrate_run("sql") == 0 ? 0 : 1;
	} else {
		int demo = argi < argc && strcmp(argv[argi], "--demo") == 0;
		if (argi < argc && !demo) {
			fprintf(stderr, "mitan: seed takes only --demo\n");
			rc = 2;
			goto out;
		}
		rc = seed_run("sql", cfg.data, demo) == 0 ? 0 : 1;
	}
out:
	db_shutdown();
	config_free();
	curl_global_cleanup();
	return rc;
}
