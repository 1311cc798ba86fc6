/*
 * cpio.h -- writing a gzip-compressed "newc" cpio archive (the Linux
 * initramfs format, Documentation/driver-api/early-userspace/buffer-format.rst)
 * without root: device nodes and ownership are written as data.
 */
#ifndef FFWD_CPIO_H
#define FFWD_CPIO_H

#include <stddef.h>
#include <stdint.h>

struct cpio;

struct cpio *cpio_create(const char *path); /* writes to path.tmp, renamed on finish */
int cpio_dir(struct cpio *c, const char *name, unsigned mode);
int cpio_file(struct cpio *c, const char *name, unsigned mode, const void *data, size_t len);
int cpio_file_from(struct cpio *c, const char *name, unsigned mode, const char *src_path);
int cpio_symlink(struct cpio *c, const char *name, const char *target);
int cpio_chardev(struct cpio *c, const char *name, unsigned mode, unsigned major, unsigned minor);
/* Write the trailer and close; on failure the output is removed. */
int cpio_finish(struct cpio *c);
void cpio_abort(struct cpio *c);

/* Reader for tests: calls cb for each entry of a (gzip or plain) newc archive. */
typedef int (*cpio_entry_cb)(void *ctx, const char *name, unsigned mode, const void *data, size_t len);
int cpio_read(const char *path, cpio_entry_cb cb, void *ctx);

#endif
