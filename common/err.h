/*
 * err.h -- the one error convention of ffwd.
 *
 * Every fallible library function returns int: 0 on success, -1 on failure
 * (or a pointer, NULL on failure). On failure it has called ffwd_seterr()
 * with a message that names the file, field or peer concerned. The message
 * lives in thread-local storage until the next ffwd_seterr() on the same
 * thread; callers that add context use ffwd_preerr() ("while X: <old>").
 * The CLI prints "ffwd: error: <message>" and exits with status 1.
 */
#ifndef FFWD_ERR_H
#define FFWD_ERR_H

#include <stdarg.h>

#if defined(__GNUC__)
#define FFWD_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define FFWD_PRINTF(a, b)
#endif

/* Set the thread's error message; always returns -1 for `return ffwd_seterr(..)`. */
int ffwd_seterr(const char *fmt, ...) FFWD_PRINTF(1, 2);
/* Like ffwd_seterr, appending ": strerror(errno)". */
int ffwd_seterr_errno(const char *fmt, ...) FFWD_PRINTF(1, 2);
/* Prefix the current message with context: "<ctx>: <old message>". */
int ffwd_preerr(const char *fmt, ...) FFWD_PRINTF(1, 2);
/* The current message ("" when none). */
const char *ffwd_errmsg(void);
void ffwd_clearerr(void);

#endif
