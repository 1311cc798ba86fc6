/* log.c -- see log.h. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static enum ffwd_loglevel cur_level = FFWD_LOG_INFO;
static struct timespec t0;

static bool meter_line; /* a meter's line is on the terminal, without its newline */

static void clear_meter_line(void)
{
    if (meter_line) {
        fputs("\r\033[K", stderr);
        meter_line = false;
    }
}

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
    clear_meter_line();
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
    clear_meter_line();
    fprintf(stderr, "[%7.2fs] %s\n", ffwd_log_elapsed(), buf);
}

/* ---- meters ---- */

/* 1234567 "instructions" -> "1.23 M instructions"; bytes in binary units ("1.18 MiB") */
static void scaled(char *out, size_t n, double v, const char *unit)
{
    bool bytes = !strcmp(unit, "bytes");
    static const char *const dec[] = {"", "k", "M", "G", "T", "P"}, *const bin[] = {"", "Ki", "Mi", "Gi", "Ti", "Pi"};
    double base = bytes ? 1024 : 1000;
    int i = 0;
    while (v >= base && i < 5)
        v /= base, i++;
    if (bytes)
        snprintf(out, n, i ? "%.2f %sB" : "%.0f B", v, bin[i]);
    else if (i)
        snprintf(out, n, "%.2f %s %s", v, dec[i], unit);
    else
        snprintf(out, n, "%.0f %s", v, unit);
}

static void hms(char *out, size_t n, double s)
{
    long t = (long)(s + 0.5);
    if (t >= 3600)
        snprintf(out, n, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    else
        snprintf(out, n, "%ld:%02ld", t / 60, t % 60);
}

static void meter_print(struct ffwd_meter *m, bool final)
{
    bool tty = isatty(2);
    double el = now() - m->t0, rate = el > 0 ? m->done / el : 0;
    char d[64], t[64], r[64], left[32] = "", pct[32] = "";
    scaled(d, sizeof d, m->done, m->unit);
    scaled(r, sizeof r, rate, m->unit);
    if (m->total > 0) {
        scaled(t, sizeof t, m->total, m->unit);
        snprintf(pct, sizeof pct, " (%.1f %%)", 100 * m->done / m->total);
        if (!final && rate > 0 && m->done < m->total) {
            char h[16];
            hms(h, sizeof h, (m->total - m->done) / rate);
            snprintf(left, sizeof left, ", %s left", h);
        }
    }
    char line[320];
    if (m->total > 0) /* "rerun: 1.92 G instructions of 2.01 G instructions (95.7 %), 136.50 M instructions/s, 0:01 left" */
        snprintf(line, sizeof line, "%s: %s of %s%s, %s/s%s", m->what, d, t, pct, r, left);
    else
        snprintf(line, sizeof line, "%s: %s, %s/s", m->what, d, r);
    if (tty) {
        fprintf(stderr, "\r\033[K[%7.2fs] %s", ffwd_log_elapsed(), line);
        meter_line = true;
        if (final)
            fputc('\n', stderr), meter_line = false;
    } else
        fprintf(stderr, "[%7.2fs] %s\n", ffwd_log_elapsed(), line);
    fflush(stderr);
}

void ffwd_meter_start(struct ffwd_meter *m, const char *what, const char *unit, double total)
{
    memset(m, 0, sizeof *m);
    snprintf(m->what, sizeof m->what, "%s", what);
    m->unit = unit;
    m->total = total;
    m->t0 = m->last = now();
    m->active = cur_level >= FFWD_LOG_INFO;
}

void ffwd_meter_set(struct ffwd_meter *m, double done)
{
    m->done = done;
    if (!m->active)
        return;
    double t = now();
    if (t - m->last < (isatty(2) ? 0.25 : 30))
        return;
    m->last = t;
    meter_print(m, false);
}

void ffwd_meter_end(struct ffwd_meter *m)
{
    if (m->active && (meter_line || now() - m->t0 >= 2)) /* a line for work that took a while */
        meter_print(m, true);
    m->active = false;
}
