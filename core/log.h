/* log: one line per event on stderr, filtered by level before formatting, tagged with the
 * current thread's request id. Never pass secrets, OTPs, tokens or identity numbers. */
#ifndef MITAN_LOG_H
#define MITAN_LOG_H

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

void log_set_level(enum log_level level);
int log_level_parse(const char *name, enum log_level *out);
int log_enabled(enum log_level level);
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The request id of the calling thread ("" when none). */
void log_set_request_id(const char *id);
const char *log_request_id(void);

#define log_debug(...)                                                                                                 \
	do {                                                                                                           \
		if (log_enabled(LOG_DEBUG))                                                                            \
			log_msg(LOG_DEBUG, __VA_ARGS__);                                                               \
	} while (0)
#define log_info(...)                                                                                                  \
	do {                                                                                                           \
		if (log_enabled(LOG_INFO))                                                                             \
			log_msg(LOG_INFO, __VA_ARGS__);                                                                \
	} while (0)
#define log_warn(...)                                                                                                  \
	do {                                                                                                           \
		if (log_enabled(LOG_WARN))                                                                             \
			log_msg(LOG_WARN, __VA_ARGS__);                                                                \
	} while (0)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)

#endif
