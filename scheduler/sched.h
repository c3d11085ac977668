/* sched: the job worker. Jobs live in the `job` table and are claimed with FOR UPDATE SKIP
 * LOCKED, so any number of workers (processes or threads) run together; a dedicated
 * connection LISTENs on mitan_work and wakes the worker when a job or message is added,
 * otherwise it looks every cfg.worker_poll_ms. Each pass: enqueue the recurring jobs that are
 * due (idempotently, by dedupe key), run due jobs (visit-day notices, evening reminders, SLA
 * scans with the grievances' reminders and escalations), then deliver due SMS. Time always
 * comes from core/clock. */
#ifndef MITAN_SCHED_H
#define MITAN_SCHED_H

/* `mitan worker [--once]`: with once, runs everything due at the clock's now and returns;
 * otherwise runs until SIGINT or SIGTERM. Returns the process exit code. */
int sched_run(int once);

/* The in-process worker of `mitan serve` (cfg.worker_in_process): one thread. */
int sched_start(void);
void sched_stop(void); /* asks the thread to stop and waits for it */

#endif
