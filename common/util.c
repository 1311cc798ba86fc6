/* util.c -- see util.h. */
#define _GNU_SOURCE
#include <ctype.h>
#include "util.h"
#include "log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <glib.h>
#include <libdeflate.h>
#include <sys/mman.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <zlib.h>
#include <unistd.h>

extern char **environ;

void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) {
        fprintf(stderr, "ffwd: error: out of memory (%zu bytes)\n", n);
        abort();
    }
    return p;
}

void *xcalloc(size_t n, size_t m)
{
    void *p = calloc(n ? n : 1, m ? m : 1);
    if (!p) {
        fprintf(stderr, "ffwd: error: out of memory\n");
        abort();
    }
    return p;
}

void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q) {
        fprintf(stderr, "ffwd: error: out of memory (%zu bytes)\n", n);
        abort();
    }
    return q;
}

char *xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = xmalloc(n);
    memcpy(p, s, n);
    return p;
}

char *xvasprintf(const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    char *s = xmalloc((size_t)n + 1);
    vsnprintf(s, (size_t)n + 1, fmt, ap2);
    va_end(ap2);
    return s;
}

char *xasprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = xvasprintf(fmt, ap);
    va_end(ap);
    return s;
}

void sbuf_add(struct sbuf *b, const void *data, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t c = b->cap ? b->cap : 256;
        while (c < b->len + n + 1)
            c *= 2;
        b->s = xrealloc(b->s, c);
        b->cap = c;
    }
    memcpy(b->s + b->len, data, n);
    b->len += n;
    b->s[b->len] = 0;
}

void sbuf_addc(struct sbuf *b, char c) { sbuf_add(b, &c, 1); }

void sbuf_addf(struct sbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *tmp = xvasprintf(fmt, ap);
    va_end(ap);
    sbuf_add(b, tmp, strlen(tmp));
    free(tmp);
}

void sbuf_free(struct sbuf *b)
{
    free(b->s);
    b->s = NULL;
    b->len = b->cap = 0;
}

void rmdir_up(const char *dir, const char *top)
{
    if (!top)
        return;
    char *p = xstrdup(dir);
    size_t tl = strlen(top);
    while (strlen(p) >= tl && rmdir(p) == 0 && strlen(p) > tl) {
        char *sl = strrchr(p, '/');
        if (!sl)
            break;
        *sl = 0;
    }
    free(p);
}

char *path_clean(const char *path)
{
    char *p = xstrdup(path);
    size_t n = strlen(p);
    while (n > 1 && p[n - 1] == '/')
        p[--n] = 0;
    return p;
}

char *path_parent(const char *path)
{
    const char *sl = strrchr(path, '/');
    if (!sl)
        return xstrdup(".");
    return sl == path ? xstrdup("/") : xasprintf("%.*s", (int)(sl - path), path);
}

void path_name_sanitize(char *name)
{
    for (char *c = name; *c; c++)
        if (!(isalnum((unsigned char)*c) || *c == '-' || *c == '_' || *c == '.'))
            *c = '_';
}

bool path_name_ok(const char *name)
{
    return name && *name && strcmp(name, ".") && strcmp(name, "..") && !strchr(name, '/');
}

bool path_exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0;
}

bool path_is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

int mkdir_p(const char *dir, mode_t mode) { return mkdir_p_track(dir, mode, NULL); }

int mkdir_p_track(const char *dir, mode_t mode, char **created)
{
    char *p = xstrdup(dir);
    if (created)
        *created = NULL;
    for (char *s = p + 1; *s; s++) {
        if (*s == '/') {
            *s = 0;
            int r = mkdir(p, mode);
            if (r == 0 && created && !*created)
                *created = xstrdup(p);
            if (r < 0 && errno != EEXIST) {
                ffwd_seterr_errno("cannot create directory %s", p);
                free(p);
                return -1;
            }
            *s = '/';
        }
    }
    int r = 0, m = mkdir(p, mode);
    if (m == 0 && created && !*created)
        *created = xstrdup(p);
    if (m < 0 && errno != EEXIST)
        r = ffwd_seterr_errno("cannot create directory %s", p);
    else if (!path_is_dir(p))
        r = ffwd_seterr("%s exists and is not a directory", p);
    free(p);
    return r;
}

static int rm_cb(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path) < 0 && errno != ENOENT ? -1 : 0;
}

int rm_rf(const char *path)
{
    struct stat st;
    if (lstat(path, &st) < 0)
        return errno == ENOENT ? 0 : ffwd_seterr_errno("cannot stat %s", path);
    if (nftw(path, rm_cb, 32, FTW_DEPTH | FTW_PHYS) < 0)
        return ffwd_seterr_errno("cannot remove %s", path);
    return 0;
}

char *read_file(const char *path, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        ffwd_seterr_errno("cannot open %s", path);
        return NULL;
    }
    struct sbuf b = {0};
    char tmp[65536];
    for (;;) {
        ssize_t n = read(fd, tmp, sizeof tmp);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            ffwd_seterr_errno("cannot read %s", path);
            close(fd);
            sbuf_free(&b);
            return NULL;
        }
        if (n == 0)
            break;
        sbuf_add(&b, tmp, (size_t)n);
    }
    close(fd);
    if (!b.s)
        sbuf_add(&b, "", 0);
    if (len)
        *len = b.len;
    return b.s;
}

int fd_write_all(int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int fd_pwrite_all(int fd, const void *data, size_t len, off_t at)
{
    const char *p = data;
    while (len) {
        ssize_t n = pwrite(fd, p, len, at);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += n;
        at += n;
        len -= (size_t)n;
    }
    return 0;
}

char *read_text_file(const char *path, size_t *len)
{
    size_t n;
    char *t = read_file(path, &n);
    if (!t)
        return NULL;
    size_t z = strlen(t);
    if (z != n) {
        ffwd_seterr("%s: a NUL byte at offset %zu (not a text file)", path, z);
        free(t);
        return NULL;
    }
    if (len)
        *len = n;
    return t;
}

int gz_check_end(void *f, const char *path)
{
    int e;
    const char *m = gzerror((gzFile)f, &e);
    /* zlib reports a stream cut short as Z_BUF_ERROR ("unexpected end of
     * file") and lets reads return 0 as at a clean end: check it here. */
    if (e == Z_OK || e == Z_STREAM_END)
        return 0;
    return ffwd_seterr("%s: truncated or corrupt compressed data (%s)", path, e == Z_ERRNO ? strerror(errno) : m);
}

char *read_file_gz(const char *path, size_t *len)
{
    gzFile gz = gzopen(path, "rb");
    if (!gz) {
        ffwd_seterr_errno("cannot open %s", path);
        return NULL;
    }
    struct sbuf b = {0};
    char buf[65536];
    int n;
    while ((n = gzread(gz, buf, sizeof buf)) > 0)
        sbuf_add(&b, buf, (size_t)n);
    int err = gz_check_end(gz, path);
    gzclose(gz);
    if (err < 0) {
        sbuf_free(&b);
        return NULL;
    }
    if (!b.s)
        sbuf_add(&b, "", 0);
    if (len)
        *len = b.len;
    return b.s;
}

int write_file_atomic(const char *path, const void *data, size_t len, mode_t mode)
{
    char *tmp = xasprintf("%s.tmp.%ld", path, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0) {
        ffwd_seterr_errno("cannot create %s", tmp);
        free(tmp);
        return -1;
    }
    if (fd_write_all(fd, data, len) < 0 || fsync(fd) < 0) {
        ffwd_seterr_errno("cannot write %s", tmp);
        close(fd);
        unlink(tmp);
        free(tmp);
        return -1;
    }
    if (close(fd) < 0 || rename(tmp, path) < 0) {
        ffwd_seterr_errno("cannot finish writing %s", path);
        unlink(tmp);
        free(tmp);
        return -1;
    }
    free(tmp);
    return 0;
}

int copy_file(const char *src, const char *dst, mode_t mode)
{
    int in = open(src, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return ffwd_seterr_errno("cannot open %s", src);
    char *tmp = xasprintf("%s.tmp.%ld", dst, (long)getpid());
    int out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (out < 0) {
        ffwd_seterr_errno("cannot create %s", tmp);
        close(in);
        free(tmp);
        return -1;
    }
    char *buf = xmalloc(1 << 20);
    int r = 0;
    for (;;) {
        ssize_t n = read(in, buf, 1 << 20);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            r = ffwd_seterr_errno("cannot read %s", src);
            break;
        }
        if (n == 0)
            break;
        if (fd_write_all(out, buf, (size_t)n) < 0) {
            r = ffwd_seterr_errno("cannot write %s", tmp);
            break;
        }
    }
    free(buf);
    close(in);
    if (close(out) < 0 && r == 0)
        r = ffwd_seterr_errno("cannot write %s", tmp);
    if (r == 0 && rename(tmp, dst) < 0)
        r = ffwd_seterr_errno("cannot rename %s to %s", tmp, dst);
    if (r)
        unlink(tmp);
    free(tmp);
    return r;
}

int64_t file_size(const char *path)
{
    struct stat st;
    if (stat(path, &st) < 0) {
        ffwd_seterr_errno("cannot stat %s", path);
        return -1;
    }
    return (int64_t)st.st_size;
}

int self_exe_dir(char *out, size_t outsz)
{
    ssize_t n = readlink("/proc/self/exe", out, outsz - 1);
    if (n < 0)
        return ffwd_seterr_errno("cannot read /proc/self/exe");
    out[n] = 0;
    char *slash = strrchr(out, '/');
    if (slash)
        *slash = 0;
    return 0;
}

char *make_temp_dir(const char *parent, const char *prefix)
{
    if (mkdir_p(parent, 0755) < 0)
        return NULL;
    char *t = xasprintf("%s/%sXXXXXX", parent, prefix);
    if (!mkdtemp(t)) {
        ffwd_seterr_errno("cannot create a temporary directory in %s", parent);
        free(t);
        return NULL;
    }
    return t;
}

char *make_owned_temp_dir(const char *parent, const char *prefix)
{
    remove_stale_temps(parent, prefix);
    char *pp = xasprintf("%s%ld-", prefix, (long)getpid());
    char *t = make_temp_dir(parent, pp);
    free(pp);
    if (t)
        chmod_umask(t, 0755);
    return t;
}

int chmod_umask(const char *path, mode_t mode)
{
    mode_t um = umask(0);
    umask(um);
    return chmod(path, mode & ~um);
}

void remove_stale_temps(const char *parent, const char *prefix)
{
    DIR *d = opendir(parent);
    if (!d)
        return;
    size_t pl = strlen(prefix);
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strncmp(e->d_name, prefix, pl))
            continue;
        char *end;
        long pid = strtol(e->d_name + pl, &end, 10);
        if (pid <= 0 || *end != '-' || pid == (long)getpid())
            continue;
        if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
            continue; /* its owner still runs (or is not ours to judge) */
        char *p = xasprintf("%s/%s", parent, e->d_name);
        ffwd_warn("removing %s, left by ffwd process %ld that is gone", p, pid);
        rm_rf(p);
        free(p);
    }
    closedir(d);
}

char *hex_encode(const void *data, size_t n)
{
    static const char d[] = "0123456789abcdef";
    const unsigned char *p = data;
    char *s = xmalloc(2 * n + 1);
    for (size_t i = 0; i < n; i++) {
        s[2 * i] = d[p[i] >> 4];
        s[2 * i + 1] = d[p[i] & 15];
    }
    s[2 * n] = 0;
    return s;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

char *hex_decode(const char *hex, size_t *outlen)
{
    size_t n = strlen(hex);
    if (n % 2)
        return NULL;
    char *out = xmalloc(n / 2 + 1);
    for (size_t i = 0; i < n / 2; i++) {
        int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            free(out);
            return NULL;
        }
        out[i] = (char)(hi << 4 | lo);
    }
    out[n / 2] = 0;
    if (outlen)
        *outlen = n / 2;
    return out;
}

bool str_starts(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

int parse_u64(const char *s, uint64_t *out)
{
    if (!s || !(*s >= '0' && *s <= '9'))
        return ffwd_seterr("'%s' is not a non-negative integer", s ? s : "");
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 0);
    if (errno || *end)
        return ffwd_seterr("'%s' is not a non-negative integer", s);
    *out = v;
    return 0;
}

int parse_size(const char *s, uint64_t *out)
{
    if (!s || !(*s >= '0' && *s <= '9'))
        return ffwd_seterr("'%s' is not a size (e.g. 512M, 2G)", s ? s : "");
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s)
        return ffwd_seterr("'%s' is not a size (e.g. 512M, 2G)", s);
    unsigned shift = 0;
    switch (*end) {
    case 0: break;
    case 'k': case 'K': shift = 10; end++; break;
    case 'm': case 'M': shift = 20; end++; break;
    case 'g': case 'G': shift = 30; end++; break;
    case 't': case 'T': shift = 40; end++; break;
    default: return ffwd_seterr("'%s' is not a size (e.g. 512M, 2G)", s);
    }
    if (*end == 'i' || *end == 'B')
        end++;
    if (*end == 'B')
        end++;
    if (*end || (shift && v > (~0ULL >> shift)))
        return ffwd_seterr("'%s' is not a size (e.g. 512M, 2G)", s);
    *out = v << shift;
    return 0;
}

void sha256_data(const void *data, size_t n, char out[65])
{
    gchar *h = g_compute_checksum_for_data(G_CHECKSUM_SHA256, data, n);
    snprintf(out, 65, "%s", h);
    g_free(h);
}

int sha256_file(const char *path, char out[65])
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return ffwd_seterr_errno("cannot open %s", path);
    GChecksum *c = g_checksum_new(G_CHECKSUM_SHA256);
    unsigned char *buf = xmalloc(1 << 20);
    int r = 0;
    for (;;) {
        ssize_t n = read(fd, buf, 1 << 20);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            r = ffwd_seterr_errno("cannot read %s", path);
            break;
        }
        if (n == 0)
            break;
        g_checksum_update(c, buf, n);
    }
    if (r == 0)
        snprintf(out, 65, "%s", g_checksum_get_string(c));
    g_checksum_free(c);
    free(buf);
    close(fd);
    return r;
}

int run_cmd(char *const argv[], const struct run_opts *o)
{
    struct run_opts def = {0};
    if (!o)
        o = &def;
    int pfd[2] = {-1, -1};
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    if (o->out) {
        if (pipe2(pfd, O_CLOEXEC) < 0)
            return ffwd_seterr_errno("pipe");
        posix_spawn_file_actions_adddup2(&fa, pfd[1], 1);
        if (o->merge_stderr)
            posix_spawn_file_actions_adddup2(&fa, pfd[1], 2);
        else if (o->quiet)
            posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    } else if (o->stdout_file) {
        posix_spawn_file_actions_addopen(&fa, 1, o->stdout_file, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (o->stderr_file)
            posix_spawn_file_actions_addopen(&fa, 2, o->stderr_file, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        else if (o->quiet)
            posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    } else if (o->quiet) {
        posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
        posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    }
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    if (o->cwd)
        posix_spawn_file_actions_addchdir_np(&fa, o->cwd);
    pid_t pid;
    int e = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (pfd[1] >= 0)
        close(pfd[1]);
    if (e) {
        if (pfd[0] >= 0)
            close(pfd[0]);
        errno = e;
        return ffwd_seterr_errno("cannot run %s", argv[0]);
    }
    if (o->out) {
        char buf[65536];
        for (;;) {
            ssize_t n = read(pfd[0], buf, sizeof buf);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                break;
            sbuf_add(o->out, buf, (size_t)n);
        }
        close(pfd[0]);
        if (!o->out->s)
            sbuf_add(o->out, "", 0);
    }
    int st;
    while (waitpid(pid, &st, 0) < 0) {
        if (errno != EINTR)
            return ffwd_seterr_errno("waitpid for %s", argv[0]);
    }
    if (WIFEXITED(st))
        return WEXITSTATUS(st);
    return ffwd_seterr("%s was killed by signal %d", argv[0], WTERMSIG(st));
}

bool have_program(const char *name)
{
    const char *path = getenv("PATH");
    if (!path)
        return false;
    char *p = xstrdup(path);
    bool found = false;
    for (char *tok = strtok(p, ":"); tok && !found; tok = strtok(NULL, ":")) {
        char *f = xasprintf("%s/%s", tok, name);
        found = access(f, X_OK) == 0;
        free(f);
    }
    free(p);
    return found;
}

double now_sec(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

double proc_cpu_sec(pid_t pid)
{
    clockid_t id;
    struct timespec t;
    if (clock_getcpuclockid(pid, &id) != 0 || clock_gettime(id, &t) != 0)
        return -1;
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

uint32_t crc32_zeros(uint32_t crc, uint64_t n)
{
    static const uint8_t zeros[1 << 16];
    while (n) {
        size_t k = n < sizeof zeros ? (size_t)n : sizeof zeros;
        crc = libdeflate_crc32(crc, zeros, k);
        n -= k;
    }
    return crc;
}

void file_data_extent(int fd, off_t pos, uint64_t size, off_t *data, off_t *hole)
{
    off_t d = lseek(fd, pos, SEEK_DATA);
    if (d < 0)
        d = errno == ENXIO ? (off_t)size : pos; /* ENXIO: only a hole remains */
    if ((uint64_t)d > size)
        d = (off_t)size;
    *data = d;
    if (!hole)
        return;
    off_t h = (uint64_t)d < size ? lseek(fd, d, SEEK_HOLE) : (off_t)size;
    *hole = h < 0 || (uint64_t)h > size ? (off_t)size : h;
}

int crc32_file(const char *path, uint64_t size, uint32_t *crc_out)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return ffwd_seterr_errno("cannot open %s", path);
    uint32_t crc = 0;
    off_t pos = 0;
    int r = 0;
    /* a buffer no larger than the file: captures hold many small files */
    size_t bufsz = size < (1u << 20) ? (size ? (size_t)size : 1) : (1u << 20);
    unsigned char *buf = xmalloc(bufsz);
    while ((uint64_t)pos < size) {
        off_t data, hole;
        file_data_extent(fd, pos, size, &data, &hole);
        crc = crc32_zeros(crc, (uint64_t)(data - pos));
        if ((uint64_t)data >= size)
            break;
        for (off_t o = data; o < hole;) {
            size_t want = (size_t)(hole - o) < bufsz ? (size_t)(hole - o) : bufsz;
            ssize_t n = pread(fd, buf, want, o);
            if (n <= 0) {
                r = n < 0 ? ffwd_seterr_errno("cannot read %s", path) : ffwd_seterr("%s is shorter than %llu bytes", path, (unsigned long long)size);
                break;
            }
            crc = libdeflate_crc32(crc, buf, (size_t)n);
            o += n;
        }
        if (r)
            break;
        pos = hole;
    }
    free(buf);
    close(fd);
    if (r == 0)
        *crc_out = crc;
    return r;
}
