/* log.c -- see log.h. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>

static enum ffwd_loglevel cur_level = FFWD_LOG_INFO;
static struct timespec t0;

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

void ffwd_log_init(enum ffwd_loglevel level)
{
    cur_level = level;
    clock_gettime(CLOCK_MONOTONIC, &t0);
}

void ffwd_log_set_level(enum ffwd_loglevel level) { cur_level = level; }
enum ffwd_loglevel ffwd_log_level(void) { return cur_level; }

double ffwd_log_elapsed(void)
{
    if (t0.tv_sec == 0 && t0.tv_nsec == 0)
        clock_gettime(CLOCK_MONOTONIC, &t0);
    return now() - ((double)t0.tv_sec + (double)t0.tv_nsec * 1e-9);
}

FFWD_PRINTF(3, 0) static void emit(enum ffwd_loglevel lvl, const char *tag, const char *fmt, va_list ap)
{
    if (cur_level < lvl)
        return;
    char buf[4096];
    vsnprintf(buf, sizeof buf, fmt, ap);
    fprintf(stderr, "ffwd: %s%s\n", tag, buf);
}

#define LOGFN(name, lvl, tag)                                                                      \
    void name(const char *fmt, ...)                                                                \
    {                                                                                              \
        va_list ap;                                                                                \
        va_start(ap, fmt);                                                                         \
        emit(lvl, tag, fmt, ap);                                                                   \
        va_end(ap);                                                                                \
    }
LOGFN(ffwd_info, FFWD_LOG_INFO, "")
LOGFN(ffwd_warn, FFWD_LOG_WARN, "warning: ")
LOGFN(ffwd_error, FFWD_LOG_ERROR, "error: ")
LOGFN(ffwd_debug, FFWD_LOG_DEBUG, "debug: ")

void ffwd_progress(const char *fmt, ...)
{
    if (cur_level < FFWD_LOG_INFO)
        return;
    char buf[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    fprintf(stderr, "[%7.2fs] %s\n", ffwd_log_elapsed(), buf);
}
