/* pmem.c -- see pmem.h. */
#define _GNU_SOURCE
#include "pmem.h"

#include <errno.h>
#include <fcntl.h>
#include <libdeflate.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/log.h"

#include "../common/util.h"

#define CHUNK (4u << 20)

struct job {
    const uint8_t *src;
    size_t len;
    uint8_t *out;
    size_t out_len, out_cap;
    int zero;
    int level;
};

static bool all_zero(const uint8_t *p, size_t n)
{
    const uint64_t *w = (const uint64_t *)p;
    for (size_t i = 0; i < n / 8; i++)
        if (w[i])
            return false;
    return true;
}

static void *worker(void *arg)
{
    struct job *j = arg;
    struct libdeflate_compressor *c = libdeflate_alloc_compressor(j->level);
    if (c) {
        j->out_len = libdeflate_gzip_compress(c, j->src, j->len, j->out, j->out_cap);
        libdeflate_free_compressor(c);
    }
    return NULL;
}

static int write_all(int fd, const uint8_t *p, size_t n, const char *path)
{
    return fd_write_all(fd, p, n) < 0 ? ffwd_seterr_errno("cannot write %s", path) : 0;
}

int pmem_write(const char *ram_path, uint64_t size, const char *out_path, int level, int threads,
               struct pmem_stats *st)
{
    memset(st, 0, sizeof *st);
    if (threads < 1)
        threads = 1;
    if (threads > 64)
        threads = 64;
    int in = open(ram_path, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return ffwd_seterr_errno("cannot open %s", ram_path);
    struct stat sb;
    fstat(in, &sb);
    if ((uint64_t)sb.st_size < size) {
        close(in);
        return ffwd_seterr("%s has %lld bytes, fewer than the RAM size %llu", ram_path, (long long)sb.st_size,
                           (unsigned long long)size);
    }
    const uint8_t *map = size ? mmap(NULL, size, PROT_READ, MAP_PRIVATE, in, 0) : NULL;
    if (size && map == MAP_FAILED) {
        close(in);
        return ffwd_seterr_errno("cannot map %s", ram_path);
    }
    int out = open(out_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (out < 0) {
        if (map)
            munmap((void *)map, size);
        close(in);
        return ffwd_seterr_errno("cannot create %s", out_path);
    }
    /* one gzip member of CHUNK zero bytes, reused for every hole */
    uint8_t *zeros = xcalloc(1, CHUNK);
    size_t zcap = libdeflate_gzip_compress_bound(NULL, CHUNK) + 64;
    uint8_t *zmember = xmalloc(zcap);
    struct libdeflate_compressor *zc = libdeflate_alloc_compressor(level);
    size_t zlen = zc ? libdeflate_gzip_compress(zc, zeros, CHUNK, zmember, zcap) : 0;
    if (zc)
        libdeflate_free_compressor(zc);
    int rc = 0;
    struct job *jobs = xcalloc((size_t)threads, sizeof *jobs);
    size_t cap = libdeflate_gzip_compress_bound(NULL, CHUNK) + 64;
    for (int t = 0; t < threads; t++) {
        jobs[t].out = xmalloc(cap);
        jobs[t].out_cap = cap;
        jobs[t].level = level;
    }
    if (!zlen)
        rc = ffwd_seterr("libdeflate could not compress (level %d)", level);
    struct ffwd_meter meter;
    ffwd_meter_start(&meter, "pmem", "bytes", (double)size);
    for (uint64_t off = 0; rc == 0 && off < size;) {
        ffwd_meter_set(&meter, (double)off);
        uint64_t batch = off;
        int nj = 0;
        pthread_t th[64];
        bool started[64] = {false};
        for (; nj < threads && off < size; nj++) {
            struct job *j = &jobs[nj];
            j->src = map + off;
            j->len = size - off < CHUNK ? (size_t)(size - off) : CHUNK;
            /* holes of the sparse file are zero without reading them */
            off_t d;
            file_data_extent(in, (off_t)off, size, &d, NULL);
            bool hole = (uint64_t)d >= off + j->len;
            j->zero = hole || all_zero(j->src, j->len);
            j->out_len = 0;
            if (!j->zero) {
                if (pthread_create(&th[nj], NULL, worker, j) == 0)
                    started[nj] = true;
                else
                    worker(j);
            }
            off += j->len;
        }
        for (int k = 0; k < nj; k++) {
            struct job *j = &jobs[k];
            if (started[k])
                pthread_join(th[k], NULL);
            st->in_bytes += j->len;
            if (rc)
                continue;
            if (j->zero) {
                st->zero_chunks++;
                if (j->len == CHUNK) {
                    rc = write_all(out, zmember, zlen, out_path);
                    st->out_bytes += zlen;
                } else { /* the short last chunk */
                    struct libdeflate_compressor *c = libdeflate_alloc_compressor(level);
                    size_t n = c ? libdeflate_gzip_compress(c, zeros, j->len, j->out, j->out_cap) : 0;
                    if (c)
                        libdeflate_free_compressor(c);
                    rc = n ? write_all(out, j->out, n, out_path) : ffwd_seterr("compression failed");
                    st->out_bytes += n;
                }
            } else {
                st->data_chunks++;
                if (!j->out_len)
                    rc = ffwd_seterr("libdeflate failed to compress a RAM chunk");
                else {
                    rc = write_all(out, j->out, j->out_len, out_path);
                    st->out_bytes += j->out_len;
                }
            }
        }
        /* done with these pages: out of this process's memory (the file's
         * pages stay in the page cache), so ffwd's resident size does not
         * grow with the guest's RAM */
        if (map && off > batch)
            madvise((void *)(map + batch), (size_t)(off - batch), MADV_DONTNEED);
    }
    ffwd_meter_end(&meter);
    if (rc == 0 && fsync(out) < 0)
        rc = ffwd_seterr_errno("cannot write %s", out_path);
    if (close(out) < 0 && rc == 0)
        rc = ffwd_seterr_errno("cannot write %s", out_path);
    if (rc)
        unlink(out_path);
    for (int t = 0; t < threads; t++)
        free(jobs[t].out);
    free(jobs);
    free(zeros);
    free(zmember);
    if (map)
        munmap((void *)map, size);
    close(in);
    return rc;
}
