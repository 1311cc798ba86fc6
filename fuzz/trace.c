/* fuzz_trace.c -- memory-access traces (docs/trace-format.md). */
#include "fuzz.h"
#include "trace/trace.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    char p[64];
    int fd = fuzz_file(data, n, p);
    struct trace_reader r;
    if (trace_open_read(&r, p) == 0) {
        struct trace_rec rec;
        for (int i = 0; i < 1000000 && trace_next(&r, &rec) > 0; i++)
            ;
    }
    trace_close_read(&r);
    close(fd);
    return 0;
}
