/*
 * log.h -- the one logging helper of ffwd.
 *
 * Messages go to stderr as "ffwd: <text>" (info), "ffwd: warning: <text>",
 * "ffwd: error: <text>", and "ffwd: debug: <text>" when the level allows.
 * Progress lines for people ("[  1.2s] kernel up") use ffwd_progress(), which
 * prefixes the seconds since ffwd_log_init().
 */
#ifndef FFWD_LOG_H
#define FFWD_LOG_H

#include "err.h"

enum ffwd_loglevel { FFWD_LOG_QUIET = 0, FFWD_LOG_ERROR, FFWD_LOG_WARN, FFWD_LOG_INFO, FFWD_LOG_DEBUG };

void ffwd_log_init(enum ffwd_loglevel level);
void ffwd_log_set_level(enum ffwd_loglevel level);
enum ffwd_loglevel ffwd_log_level(void);
double ffwd_log_elapsed(void);

void ffwd_info(const char *fmt, ...) FFWD_PRINTF(1, 2);
void ffwd_warn(const char *fmt, ...) FFWD_PRINTF(1, 2);
void ffwd_error(const char *fmt, ...) FFWD_PRINTF(1, 2);
void ffwd_debug(const char *fmt, ...) FFWD_PRINTF(1, 2);
void ffwd_progress(const char *fmt, ...) FFWD_PRINTF(1, 2);

#endif
