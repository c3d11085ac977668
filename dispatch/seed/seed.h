/* seed: the service catalogue and message templates, and with demo the demo city of
 * Raipur with its accounts, agents and their shifts for the next 14 days. */
#ifndef MITAN_SEED_H
#define MITAN_SEED_H

/* sql_dir holds seed/; accounts are written to data_dir/demo-accounts.json. 0 on success. */
int seed_run(const char *sql_dir, const char *data_dir, int demo);

#endif
