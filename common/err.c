/* err.c -- thread-local error messages (see err.h). */
#include "err.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define ERR_MAX 2048
static _Thread_local char errbuf[ERR_MAX];

/* errbuf = a + b + c, truncated to fit. */
static void set3(const char *a, const char *b, const char *c)
{
    char tmp[ERR_MAX];
    size_t o = 0;
    const char *parts[3] = {a, b, c};
    for (int i = 0; i < 3; i++) {
        size_t n = strlen(parts[i]);
        if (n > sizeof tmp - 1 - o)
            n = sizeof tmp - 1 - o;
        memcpy(tmp + o, parts[i], n);
        o += n;
    }
    tmp[o] = 0;
    memcpy(errbuf, tmp, o + 1);
}

int ffwd_seterr(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(errbuf, sizeof errbuf, fmt, ap);
    va_end(ap);
    return -1;
}

int ffwd_seterr_errno(const char *fmt, ...)
{
    int e = errno;
    char tmp[ERR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    set3(tmp, ": ", strerror(e));
    errno = e;
    return -1;
}

int ffwd_preerr(const char *fmt, ...)
{
    char ctx[ERR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ctx, sizeof ctx, fmt, ap);
    va_end(ap);
    if (errbuf[0])
        set3(ctx, ": ", errbuf);
    else
        set3(ctx, "", "");
    return -1;
}

const char *ffwd_errmsg(void) { return errbuf; }
void ffwd_clearerr(void) { errbuf[0] = 0; }
