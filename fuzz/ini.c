/* fuzz_ini.c -- gem5 checkpoint INI (m5.cpt) reader and its edits. */
#include "fuzz.h"
#include "gem5/ini.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    struct ini f;
    if (ini_parse((const char *)data, n, "fuzz", &f) == 0) {
        ini_find(&f, "system.cpu");
        ini_clone_tree(&f, "system.cpu", "system.cpu1");
        ini_remove_tree(&f, "system.cpu");
        ini_add(&f, "root", "system");
        struct sbuf o = {0};
        ini_write(&f, "# fuzz", &o);
        sbuf_free(&o);
        ini_free(&f);
    }
    return 0;
}
