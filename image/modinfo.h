/*
 * modinfo.h -- reading a kernel module's .modinfo section (ELF64) to learn
 * its dependencies, so the image builder can load modules in order without
 * kmod/depmod on the host.
 */
#ifndef FFWD_MODINFO_H
#define FFWD_MODINFO_H

#include <stddef.h>

/* Fill `deps` (comma-separated module names, may be empty) from the module's
 * "depends=" entry. Error when the file is not an ELF64 module. */
int modinfo_depends(const void *ko, size_t len, char *deps, size_t depsz, const char *what);

#endif
