/*
 * writer.h -- capture -> gem5 checkpoint directory for STOCK gem5 v24.0.
 *
 * Output (written to a temporary directory, renamed when complete):
 *   m5.cpt                                gem5's INI: every section and key of gem5's own
 *                                         checkpoint of the ffwd platform (template), with
 *                                         the captured state written in
 *   system.physmem.store0.pmem            RAM as concatenated gzip members
 *   system.realview.vio.vio.image.cow     the disk delta as a gem5 CowDiskImage file
 *                                         (both named after the layout's system and
 *                                         platform: board.physmem... for the stdlib)
 *   ffwd-checkpoint.json                  what this is, where it came from, how to run it
 * The base disk image is not copied: the config script (gem5/ffwd_restore.py)
 * opens it read-only under the COW layer. Mapping rules: docs/gem5-mapping.md.
 */
#ifndef FFWD_GEM5_WRITER_H
#define FFWD_GEM5_WRITER_H

#include <stdint.h>

struct gem5_convert_opts {
    const char *capture;
    const char *out;          /* checkpoint directory to create (must not exist) */
    const char *gem5_src;     /* derive misc-register numbering from this gem5 tree */
    const char *template_cpt; /* gem5's own checkpoint (dir or m5.cpt) of the same platform; NULL: built in */
    const char *layout;       /* section names for: legacy (NULL), stdlib, stdlib-switchable, or a config.ini (layout.h) */
    int threads;              /* pmem compression threads (0: online CPUs) */
    int level;                /* pmem compression level (0: 6) */
};

struct gem5_convert_result {
    char path[4096];
    double seconds;
    uint64_t pmem_bytes, ram_bytes, cow_sectors;
    unsigned regs_written, regs_kept_gem5, regs_unmapped;
};

int gem5_convert(const struct gem5_convert_opts *o, struct gem5_convert_result *r);

/* Layout helpers, exposed for tests. */
/* Index in gem5's 42-entry flat integer file of AArch64 register Xn (0..30). */
int gem5_xreg_slot(int n);

#endif
