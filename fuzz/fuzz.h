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

#endif
