/* fuzz_manifest.c -- a capture's manifest.json (what `ffwd convert`,
 * `inspect` and `verify` open first). The harness makes a capture folder
 * with small fixed files (the seed lists them with their sizes and CRC-32s,
 * so the fuzzer reaches the checks past the file list) and the input as its
 * manifest. */
#include "fuzz.h"

#include <string.h>
#include <sys/stat.h>

#include "capture/capture.h"

static void put(const char *dir, const char *name, const void *data, size_t n)
{
    char p[4096];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "wb");
    if (f) {
        fwrite(data, 1, n, f);
        fclose(f);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    static char *dir;
    static int made;
    if (!made) {
        dir = fuzz_dir("ffwd-fuzz-manifest");
        static const uint8_t zero[4096];
        put(dir, "gic.json", "{}", 2);
        put(dir, "timer.json", "{}", 2);
        put(dir, "devices.json", "{}", 2);
        put(dir, "cpu0.json", "{}", 2);
        put(dir, "vmstate.bin", "QEVM", 4);
        put(dir, "ram0.bin", zero, sizeof zero);
        made = 1;
    }
    put(dir, "manifest.json", data, n);
    json_t *m = ffwd_capture_open(dir);
    json_decref(m);
    return 0;
}
