/* inspect.h -- human and JSON summaries of a capture (ffwd inspect). */
#ifndef FFWD_INSPECT_H
#define FFWD_INSPECT_H

#include <stdbool.h>

#include "../common/util.h"

/* Verify the capture and summarise it into out (text or JSON). */
int ffwd_inspect(const char *dir, bool json, struct sbuf *out);

#endif
