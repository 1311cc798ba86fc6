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

#include <stdbool.h>

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

/*
 * A meter for work that takes more than a few seconds: what is done against
 * the total where it is known, the rate and the time left, the way
 * `qemu-img convert -p` and `rsync --info=progress2` show it. On a terminal
 * one line redrawn in place (at most 4 times a second); otherwise a plain
 * line every 30 s; nothing with -q. Other messages clear the line first.
 * unit: "instructions", "bytes" or a noun counted whole ("points").
 */
struct ffwd_meter {
    char what[64];
    const char *unit;
    double total, done, t0, last;
    bool active;
};
void ffwd_meter_start(struct ffwd_meter *m, const char *what, const char *unit, double total);
void ffwd_meter_set(struct ffwd_meter *m, double done);
/* The final line (kept on a terminal). */
void ffwd_meter_end(struct ffwd_meter *m);

#endif
