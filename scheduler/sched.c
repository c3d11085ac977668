#include "scheduler/sched.h"

#include <errno.h>
#include <libpq-fe.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "config.h"
#include "crypto.h"
#include "db.h"
#include "log.h"
#include "metrics.h"
#include "scheduler/sms.h"
#include "util.h"
#include "agent-api/upload.h"
#include "booking/change.h"

#define SCHED_PLAN_EVERY_US    (30LL * 1000000) /* recurring jobs are enqueued this often */
#define SCHED_JOB_LEASE        "5 minutes"      /* a job not finished by then runs again */
#define SCHED_JOB_MAX_ATTEMPTS 5
#define SCHED_VISIT_BATCH      50 /* bookings per transaction of the visit-day job */
#define SCHED_VISIT_BATCH_S    "50"
#define SCHED_SLICE_MS         200 /* how often a waiting worker checks for stop */

struct sched_worker {
	char id[96];
	PGconn *listen;
	int64_t last_plan_us;
	int64_t last_connect_us;
	struct sms_sender *sms;
};

static atomic_int sched_stopping;
static pthread_t sched_thread;
static int sched_thread_running;

/* ---- the LISTEN connection ---- */

static void sched_listen_close(struct sched_worker *w)
{
	if (w->listen)
		PQfinish(w->listen);
	w->listen = NULL;
}

/* Opens the dedicated connection and LISTENs; without it the worker still polls. */
static void sched_listen_open(struct sched_worker *w)
{
	static const char listen_sql[] = "LISTEN mitan_work";
	char conninfo[1024], err[512];
	int64_t now = clock_now_us();
	if (w->listen || now - w->last_connect_us < 5000000)
		return;
	w->last_connect_us = now;
	if (db_conninfo_read(conninfo, sizeof conninfo, err, sizeof err) != 0) {
		log_warn("worker: no LISTEN connection, polling every %ld ms: %s", cfg.worker_poll_ms, err);
		return;
	}
	w->listen = PQconnectdb(conninfo);
	if (PQstatus(w->listen) != CONNECTION_OK) {
		log_warn("worker: LISTEN connection failed, polling every %ld ms: %s", cfg.worker_poll_ms,
		         PQerrorMessage(w->listen));
		sched_listen_close(w);
		return;
	}
	/* A fixed statement without parameters on the listening connection, which core/db's
	 * per-thread connections cannot be (they are handed back between statements). */
	PGresult *res = PQexec(w->listen, listen_sql);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		log_warn("worker: LISTEN failed: %s", PQerrorMessage(w->listen));
		sched_listen_close(w);
	}
	PQclear(res);
}

/* Drops the notifications received so far; 1 if there was any. */
static int sched_drain(struct sched_worker *w)
{
	PGnotify *n;
	int got = 0;
	if (!w->listen)
		return 0;
	if (!PQconsumeInput(w->listen)) {
		log_warn("worker: LISTEN connection lost: %s", PQerrorMessage(w->listen));
		sched_listen_close(w);
		return 1; /* look for work at once; reconnect later */
	}
	for (n = PQnotifies(w->listen); n; n = PQnotifies(w->listen)) {
		got = 1;
		PQfreemem(n);
	}
	return got;
}

/* Waits up to timeout_ms for a notification or a stop request. */
static void sched_wait(struct sched_worker *w, long timeout_ms)
{
	long waited = 0;
	sched_listen_open(w);
	while (waited < timeout_ms && !atomic_load(&sched_stopping)) {
		long slice = timeout_ms - waited < SCHED_SLICE_MS ? timeout_ms - waited : SCHED_SLICE_MS;
		if (w->listen) {
			struct pollfd p = {.fd = PQsocket(w->listen), .events = POLLIN};
			int rc = poll(&p, 1, (int)slice);
			if (rc > 0 && sched_drain(w))
				return;
			if (rc < 0 && errno != EINTR) {
				sched_listen_close(w);
			}
		} else {
			struct timespec ts = {slice / 1000, (slice % 1000) * 1000000L};
			nanosleep(&ts, NULL);
		}
		waited += slice;
	}
}

/* ---- jobs ---- */

/* Visit-day notice for one district and local day: each booking still `booked` is frozen
 * (the booking change BOOKING_FREEZE: a new visit code, status `assigned`, its event and audit
 * entry, the visit_day message to the beneficiary and the booker), in one transaction per
 * batch. A booking already assigned is skipped, so the job may run twice or on two workers
 * at once (SKIP LOCKED) and still sends each notice once. */
static enum db_status sched_visit_day(const char *district, const char *day, const char *now, int *done)
{
	static const char q_pick[] =
	    "SELECT b.id, b.reference, b.status FROM booking b JOIN district d ON d.id = b.district_id "
	    " WHERE b.district_id = $1::int AND b.status = 'booked' AND b.agent_id IS NOT NULL "
	    "   AND b.window_start >= $2::date::timestamp AT TIME ZONE d.time_zone "
	    "   AND b.window_start < ($2::date + 1)::timestamp AT TIME ZONE d.time_zone "
	    "   AND b.window_end > $3::timestamptz "
	    " ORDER BY b.window_start, b.id LIMIT " SCHED_VISIT_BATCH_S " FOR UPDATE OF b SKIP LOCKED";
	const struct booking_transition *t = booking_transition_find(BOOKING_FREEZE, "booked", "assigned");
	enum db_status st;
	PGresult *res = NULL;
	int n;

	*done = 0;
	do {
		st = db_begin();
		if (st != DB_OK)
			return st;
		const char *pp[] = {district, day, now};
		res = db_exec(q_pick, 3, pp, &st);
		if (st != DB_OK)
			goto fail;
		n = PQntuples(res);
		for (int i = 0; i < n; i++) {
			struct booking_change c = {0};
			c.booking_id = db_col(res, i, "id");
			c.reference = db_col(res, i, "reference");
			c.from = db_col(res, i, "status");
			c.role = BOOKING_BY_SYSTEM;
			c.now = now;
			c.sms_dedupe = day;
			st = booking_change_apply(t, &c);
			if (st != DB_OK)
				goto fail;
		}
		st = db_commit();
		if (st != DB_OK)
			goto fail;
		*done += n;
		PQclear(res);
		res = NULL;
	} while (n == SCHED_VISIT_BATCH && !atomic_load(&sched_stopping));
	return DB_OK;
fail:
	db_rollback();
	PQclear(res);
	return st;
}

/* Runs one claimed job; returns the database status and a count for the log. */
static enum db_status sched_job_exec(const char *kind, const char *district, const char *day, const char *now,
                                     int *count)
{
	static const char q_reminders[] = "SELECT visit_reminders($1::int, $2::date, $3)";
	/* The SLA scan of bookings, the grievances' reminders and escalations
	 * (sql/005_grievance.sql) and the sealing of a fortnight's report once it closes
	 * (sql/007), in one transaction every 10 minutes. */
	static const char q_sla[] = "SELECT sla_scan($1) + grievance_scan($1) + report_seal_due($1)";
	enum db_status st = DB_FAILED;
	PGresult *res = NULL;
	*count = 0;
	if (strcmp(kind, "visit_day") == 0 && district && day)
		return sched_visit_day(district, day, now, count);
	/* Files are removed here, in C: the database never sees the document store. */
	if (strcmp(kind, "upload_cleanup") == 0)
		return upload_expire(now, count);
	if (strcmp(kind, "visit_reminder") == 0 && district && day) {
		const char *p[] = {district, day, now};
		res = db_exec(q_reminders, 3, p, &st);
	} else if (strcmp(kind, "sla_scan") == 0) {
		const char *p[] = {now};
		res = db_exec(q_sla, 1, p, &st);
	} else {
		log_error("worker: job of unknown kind %s or without its payload", kind);
	}
	if (st == DB_OK)
		*count = (int)db_get_ll(res, 0, 0);
	PQclear(res);
	return st;
}

/* Claims and runs one due job. Returns 1 when one ran (successfully or not), 0 when none
 * is due, -1 when the database failed. */
static int sched_job_run_one(struct sched_worker *w)
{
	static const char q_claim[] =
	    "WITH c AS (SELECT id FROM job WHERE status IN ('queued', 'running') AND run_at <= $1 "
	    "           ORDER BY run_at, id LIMIT 1 FOR UPDATE SKIP LOCKED) "
	    "UPDATE job j SET status = 'running', locked_by = $2, locked_at = $1, "
	    "       run_at = $1::timestamptz + interval '" SCHED_JOB_LEASE "', attempts = j.attempts + 1 "
	    "  FROM c WHERE j.id = c.id "
	    "RETURNING j.id, j.kind, j.payload->>'district_id', j.payload->>'date', j.attempts, j.dedupe_key";
	static const char q_done[] =
	    "UPDATE job SET status = 'done', finished_at = $2, locked_by = NULL, last_error = NULL "
	    " WHERE id = $1 AND locked_by = $3";
	static const char q_retry[] =
	    "UPDATE job SET status = CASE WHEN attempts >= $5::int THEN 'failed' ELSE 'queued' END, "
	    "       run_at = $2::timestamptz + $4::int * interval '1 second', last_error = $6, locked_by = NULL, "
	    "       finished_at = CASE WHEN attempts >= $5::int THEN $2::timestamptz END "
	    " WHERE id = $1 AND locked_by = $3";
	char now[40], delay[16], max[16];
	enum db_status st;
	int count = 0;

	clock_now_text(now, sizeof now);
	const char *cp[] = {now, w->id};
	PGresult *job = db_exec(q_claim, 2, cp, &st);
	if (st != DB_OK)
		return -1;
	if (PQntuples(job) == 0) {
		PQclear(job);
		return 0;
	}
	const char *id = db_get(job, 0, 0), *kind = db_get(job, 0, 1);
	long attempts = (long)db_get_ll(job, 0, 4);
	st = sched_job_exec(kind, db_get(job, 0, 2), db_get(job, 0, 3), now, &count);
	char sqlstate[8];
	snprintf(sqlstate, sizeof sqlstate, "%s", db_last_sqlstate()[0] ? db_last_sqlstate() : "failed");
	db_release();
	char finished[40];
	clock_now_text(finished, sizeof finished);
	if (st == DB_OK) {
		const char *dp[] = {id, finished, w->id};
		db_run(q_done, 3, dp);
		metrics_count("mitan_jobs_done_total", 1);
		log_info("worker: job %s done (%d)", db_get(job, 0, 5), count);
	} else {
		snprintf(delay, sizeof delay, "%ld", 30L << (attempts < 6 ? attempts : 6));
		snprintf(max, sizeof max, "%d", SCHED_JOB_MAX_ATTEMPTS);
		const char *rp[] = {id, finished, w->id, delay, max, sqlstate};
		db_run(q_retry, 6, rp);
		metrics_count("mitan_jobs_failed_total", 1);
		log_error("worker: job %s failed (attempt %ld)", db_get(job, 0, 5), attempts);
	}
	PQclear(job);
	return 1;
}

/* Enqueues the recurring jobs due by now (idempotent). */
static void sched_plan(struct sched_worker *w)
{
	static const char sql[] = "SELECT sched_plan($1, $2::int)";
	char now[40], hour[8];
	clock_now_text(now, sizeof now);
	snprintf(hour, sizeof hour, "%ld", cfg.visit_notice_hour);
	const char *p[] = {now, hour};
	if (db_run(sql, 2, p) == DB_OK)
		w->last_plan_us = clock_now_us();
}

/* One pass: recurring jobs, due jobs, due messages. Returns -1 when the database failed. */
static int sched_pass(struct sched_worker *w, int once)
{
	int rc = 0, n = 0;
	if (once || clock_now_us() - w->last_plan_us >= SCHED_PLAN_EVERY_US)
		sched_plan(w);
	while (!atomic_load(&sched_stopping)) {
		n = sched_job_run_one(w);
		if (n != 1)
			break;
	}
	if (n < 0)
		rc = -1;
	n = 0;
	while (!atomic_load(&sched_stopping)) {
		n = sms_deliver_batch(w->sms);
		if (n <= 0)
			break;
		db_release();
	}
	if (n < 0)
		rc = -1;
	db_release();
	return rc;
}

static void sched_worker_init(struct sched_worker *w, int n)
{
	char host[64];
	memset(w, 0, sizeof *w);
	if (gethostname(host, sizeof host) != 0)
		snprintf(host, sizeof host, "host");
	host[sizeof host - 1] = '\0';
	snprintf(w->id, sizeof w->id, "%.60s:%ld:%d", host, (long)getpid(), n);
	w->sms = sms_sender_new(w->id);
	w->last_connect_us = -10000000;
}

static void sched_worker_free(struct sched_worker *w)
{
	sched_listen_close(w);
	sms_sender_free(w->sms);
	w->sms = NULL;
}

static void sched_loop(struct sched_worker *w)
{
	sched_listen_open(w);
	log_info("worker %s: started (sms driver %s, %s, poll %ld ms)", w->id, cfg.sms_driver,
	         w->listen ? "listening" : "not listening", cfg.worker_poll_ms);
	while (!atomic_load(&sched_stopping)) {
		sched_drain(w);
		sched_pass(w, 0);
		sched_wait(w, cfg.worker_poll_ms);
	}
	log_info("worker %s: stopped", w->id);
}

/* ---- entry points ---- */

static void sched_on_signal(int sig)
{
	(void)sig;
	atomic_store(&sched_stopping, 1);
}

int sched_run(int once)
{
	struct sched_worker w;
	int rc = 0;
	sched_worker_init(&w, 0);
	if (once) {
		rc = sched_pass(&w, 1) == 0 ? 0 : 1;
	} else {
		struct sigaction sa;
		memset(&sa, 0, sizeof sa);
		sa.sa_handler = sched_on_signal;
		sigemptyset(&sa.sa_mask);
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGTERM, &sa, NULL);
		signal(SIGPIPE, SIG_IGN);
		sched_loop(&w);
	}
	sched_worker_free(&w);
	return rc;
}

static void *sched_main(void *arg)
{
	struct sched_worker w;
	(void)arg;
	sched_worker_init(&w, 1);
	sched_loop(&w);
	sched_worker_free(&w);
	return NULL; /* the thread's database connection is closed by core/db's key destructor */
}

int sched_start(void)
{
	atomic_store(&sched_stopping, 0);
	if (pthread_create(&sched_thread, NULL, sched_main, NULL) != 0)
		return -1;
	sched_thread_running = 1;
	return 0;
}

void sched_stop(void)
{
	if (!sched_thread_running)
		return;
	atomic_store(&sched_stopping, 1);
	pthread_join(sched_thread, NULL);
	sched_thread_running = 0;
}
