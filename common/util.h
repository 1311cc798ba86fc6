/*
 * util.h -- small file, path, string and process helpers shared by ffwd.
 * All follow err.h: 0 / pointer on success, -1 / NULL with a message.
 */
#ifndef FFWD_UTIL_H
#define FFWD_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <sys/types.h>

#include "err.h"

/* ---- memory ---- */
void *xmalloc(size_t n);          /* aborts on OOM (the only abort) */
void *xcalloc(size_t n, size_t m);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xasprintf(const char *fmt, ...) FFWD_PRINTF(1, 2);
char *xvasprintf(const char *fmt, va_list ap) FFWD_PRINTF(1, 0);

/* ---- growable string ---- */
struct sbuf {
    char *s;
    size_t len, cap;
};
void sbuf_add(struct sbuf *b, const void *data, size_t n);
void sbuf_addf(struct sbuf *b, const char *fmt, ...) FFWD_PRINTF(2, 3);
void sbuf_addc(struct sbuf *b, char c);
void sbuf_free(struct sbuf *b);

/* ---- files and paths ---- */
bool path_exists(const char *p);
/* One plain file name: not empty, not "." or "..", no '/'. Every name ffwd
 * reads from a file and joins to a folder goes through this. */
bool path_name_ok(const char *name);
bool path_is_dir(const char *p);
int mkdir_p(const char *dir, mode_t mode);
/* mkdir_p that tells which directory it created first (NULL: none), so a
 * failed command can take back what it made with rmdir_up(dir, created). */
int mkdir_p_track(const char *dir, mode_t mode, char **created);
/* rmdir dir and its parents up to and including top, while they are empty. */
void rmdir_up(const char *dir, const char *top);
/* A copy of path without trailing slashes ("out/" -> "out"). */
char *path_clean(const char *path);
/* The folder part of path ("a/b" -> "a", "b" -> ".", "/b" -> "/"). */
char *path_parent(const char *path);
/* Every character outside [A-Za-z0-9._-] becomes '_' (names made from guest or user text). */
void path_name_sanitize(char *name);
int rm_rf(const char *path);
/* Read a whole file (NUL-terminated; *len gets the size without the NUL). */
char *read_file(const char *path, size_t *len);
/* write(2) / pwrite(2) all of it, retrying on EINTR and short writes; -1 with errno set. */
int fd_write_all(int fd, const void *data, size_t len);
int fd_pwrite_all(int fd, const void *data, size_t len, off_t at);
/* read_file for text: a NUL byte anywhere is an error naming its offset. */
char *read_text_file(const char *path, size_t *len);
/* After a zlib read returned 0 or -1: 0 at a clean end, -1 (message naming
 * `path`) for a truncated or corrupt stream. f is a gzFile. */
int gz_check_end(void *f, const char *path);
/* Read a whole file that may be gzip-compressed (zlib reads plain files as is). */
char *read_file_gz(const char *path, size_t *len);
/* Write via "<path>.tmp.<pid>" + fsync + rename: never a half-written file. */
int write_file_atomic(const char *path, const void *data, size_t len, mode_t mode);
int copy_file(const char *src, const char *dst, mode_t mode);
int64_t file_size(const char *path);
/* Directory of the running executable (from /proc/self/exe). */
int self_exe_dir(char *out, size_t outsz);
/* A fresh private directory under `parent` named "<prefix>XXXXXX". */
char *make_temp_dir(const char *parent, const char *prefix);
/* make_temp_dir for a result in the making: "<prefix><pid>-XXXXXX", mode
 * 0755 less the umask (the one policy for result folders). Entries named
 * so by ffwd processes that are gone are removed first (a kill at any
 * moment leaves no stray temporary state for long). */
char *make_owned_temp_dir(const char *parent, const char *prefix);
void remove_stale_temps(const char *parent, const char *prefix);
/* chmod to mode less the process's umask: the one permission policy for
 * what ffwd did not create with that mode itself (result folders 0755,
 * files 0644). */
int chmod_umask(const char *path, mode_t mode);

/* ---- strings ---- */
char *hex_encode(const void *data, size_t n);
/* Decode hex into a freshly allocated NUL-terminated buffer; NULL on bad input. */
char *hex_decode(const char *hex, size_t *outlen);
bool str_starts(const char *s, const char *prefix);
/* Parse sizes like 512M, 2G, 4096, 64K (binary units). */
int parse_size(const char *s, uint64_t *out);
int parse_u64(const char *s, uint64_t *out);

/* CRC-32 (libdeflate) of a file's first `size` bytes, reading holes of a
 * sparse file as zeros without touching them. */
int crc32_file(const char *path, uint64_t size, uint32_t *crc);
/* Continue a CRC-32 over n zero bytes (holes of a sparse file). */
uint32_t crc32_zeros(uint32_t crc, uint64_t n);
/* The next run of data at or after `pos` in a sparse file whose first `size`
 * bytes count: [*data, *hole). *data == size when only a hole remains; a file
 * system without SEEK_DATA reports everything as data. hole may be NULL. */
void file_data_extent(int fd, off_t pos, uint64_t size, off_t *data, off_t *hole);

/* ---- hashing (SHA-256 as 64 hex chars) ---- */
int sha256_file(const char *path, char out[65]);
void sha256_data(const void *data, size_t n, char out[65]);

/* ---- processes ---- */
struct run_opts {
    const char *cwd;         /* NULL: inherit */
    struct sbuf *out;        /* capture stdout (and stderr if merge_stderr) */
    bool merge_stderr;
    bool quiet;              /* send stdout/stderr to /dev/null when not captured */
    const char *stdout_file; /* redirect stdout to this file */
    const char *stderr_file; /* redirect stderr to this file (with stdout_file) */
};
/* Run argv[0] (searched in PATH) and wait. Returns the exit status (0..255),
 * or -1 (with a message) when it could not be started or died by a signal. */
int run_cmd(char *const argv[], const struct run_opts *o);
/* Does a program exist in PATH? */
bool have_program(const char *name);
/* Monotonic seconds. */
double now_sec(void);
/* CPU seconds (user + system, every thread) process pid has used so far;
 * -1 when it cannot be read. */
double proc_cpu_sec(pid_t pid);

#endif
