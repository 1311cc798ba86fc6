/*
 * fuzz.h -- shared part of the libFuzzer targets (README.md, "Fuzzing"): the input
 * as a file for the readers that take a path (an in-memory file: memfd).
 */
#ifndef FFWD_FUZZ_H
#define FFWD_FUZZ_H

#define _GNU_SOURCE
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ftw.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/err.h"
#include "common/util.h"

/* Write data to a fresh memfd; *path gets "/proc/self/fd/N". Returns the fd. */
static inline int fuzz_file(const uint8_t *data, size_t n, char path[64])
{
    int fd = memfd_create("ffwd-fuzz", MFD_CLOEXEC);
    if (fd < 0 || fd_write_all(fd, data, n) < 0)
        abort();
    snprintf(path, 64, "/proc/self/fd/%d", fd);
    return fd;
}

static char *fuzz_dir_made;

static inline int fuzz_rm_one(const char *p, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st, (void)type, (void)ftw;
    return remove(p);
}

static inline void fuzz_dir_remove(void)
{
    if (fuzz_dir_made)
        nftw(fuzz_dir_made, fuzz_rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

/* A folder for targets whose reader takes folder or prefix paths, made once
 * per process and removed at its exit: under /dev/shm (tmpfs) where there
 * is one, so no execution waits for a disk. */
static inline char *fuzz_dir(const char *name)
{
    const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    char *d = malloc(strlen(base) + strlen(name) + 16);
    if (!d)
        abort();
    sprintf(d, "%s/%s-XXXXXX", base, name);
    if (!mkdtemp(d))
        abort();
    fuzz_dir_made = d;
    atexit(fuzz_dir_remove);
    return d;
}

#endif
