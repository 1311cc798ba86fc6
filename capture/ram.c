/* ram.c -- see ram.h. */
#define _GNU_SOURCE
#include "ram.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <libdeflate.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/log.h"
#include "../common/util.h"

static bool page_zero(const uint8_t *p)
{
    const uint64_t *w = (const uint64_t *)p;
    for (unsigned i = 0; i < PAGE / 8; i++)
        if (w[i])
            return false;
    return true;
}

/* Walk the data extents of the sparse file fd (`size` bytes, mapped at
 * map) in whole pages: *crc_out is the CRC-32 of the logical image, holes fed
 * as zeros without touching the mapping (never-touched guest memory is not
 * faulted in); `each`, when given, sees every data extent [data, hole) and
 * stops the walk by returning non-zero (its value is returned). */
#define PIECE ((off_t)64 << 20)

static int extents_crc(int fd, const uint8_t *map, uint64_t size, uint32_t *crc_out,
                       int (*each)(off_t data, off_t hole, void *arg), void *arg)
{
    uint32_t crc = 0;
    off_t pos = 0;
    int r = 0;
    while ((uint64_t)pos < size && r == 0) {
        off_t data, hole;
        file_data_extent(fd, pos, size, &data, &hole);
        data &= ~(off_t)(PAGE - 1);
        if (data < pos)
            data = pos;
        crc = crc32_zeros(crc, (uint64_t)(data - pos));
        if ((uint64_t)data >= size)
            break;
        hole = (hole + PAGE - 1) & ~(off_t)(PAGE - 1);
        if ((uint64_t)hole > size)
            hole = (off_t)size;
        /* in pieces, each dropped from this process's page tables once done
         * (the data stays in the file): ffwd's resident size does not grow
         * with the guest's RAM */
        for (off_t a = data; a < hole && r == 0;) {
            off_t b = hole - a > PIECE ? a + PIECE : hole;
            crc = libdeflate_crc32(crc, map + a, (size_t)(b - a));
            if (each)
                r = each(a, b, arg);
            madvise((void *)(map + a), (size_t)(b - a), MADV_DONTNEED);
            a = b;
        }
        pos = hole;
    }
    *crc_out = crc;
    return r;
}

struct copy_ctx {
    const uint8_t *map;
    int out;
    const char *p;
    uint64_t nz;
    struct ffwd_meter meter;
};

/* One data extent of guest RAM: its non-zero pages to the image, runs of
 * them in one write (zero pages stay holes). */
static int copy_extent(off_t data, off_t hole, void *arg)
{
    struct copy_ctx *c = arg;
    for (off_t o = data; o < hole; o += PAGE) {
        if (!(o & ((16 << 20) - 1)))
            ffwd_meter_set(&c->meter, (double)o);
        off_t run = o;
        while (run < hole && !page_zero(c->map + run))
            run += PAGE;
        if (run > o) {
            c->nz += (uint64_t)(run - o) / PAGE;
            if (fd_pwrite_all(c->out, c->map + o, (size_t)(run - o), o) < 0)
                return ffwd_seterr_errno("cannot write %s", c->p);
            o = run;
        }
    }
    return 0;
}

int cap_ram_copy(const char *ram_path, const uint8_t *map, uint64_t size, const char *p, uint64_t *nonzero,
                 uint32_t *crc_out)
{
    int in = open(ram_path, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return ffwd_seterr_errno("guest RAM %s", ram_path);
    struct stat st;
    fstat(in, &st);
    if ((uint64_t)st.st_size != size) {
        close(in);
        return ffwd_seterr("guest RAM %s has %lld bytes, the profile says %llu", ram_path, (long long)st.st_size,
                           (unsigned long long)size);
    }
    struct copy_ctx c = {.map = map, .p = p};
    c.out = open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (c.out < 0) {
        ffwd_seterr_errno("cannot create %s", p);
        close(in);
        return -1;
    }
    ffwd_meter_start(&c.meter, "RAM saved", "bytes", (double)size); /* a large guest takes seconds */
    int r = extents_crc(in, map, size, crc_out, copy_extent, &c);
    ffwd_meter_set(&c.meter, (double)size);
    ffwd_meter_end(&c.meter);
    if (r == 0 && ftruncate(c.out, (off_t)size) < 0)
        r = ffwd_seterr_errno("cannot size %s", p);
    /* fsync comes later, after the guest was resumed (ffwd_capture) */
    if (close(c.out) < 0 && r == 0)
        r = ffwd_seterr_errno("cannot write %s", p);
    close(in);
    *nonzero = c.nz;
    return r;
}

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23 /* Linux 5.14 */
#endif

/* Before a background snapshot, while the guest still runs: have QEMU map
 * every page of guest RAM into its own page tables (memory backend property
 * prealloc, set at run time: qemu_prealloc_mem), which QEMU would otherwise
 * do inside the stop (ram_write_tracking_prepare, ~1 s per GiB when the
 * pages must be allocated too). Safe only with MADV_POPULATE_WRITE, which
 * faults pages in without changing them; without it QEMU rewrites every byte
 * of RAM, racing with the guest -- so this kernel is asked first, on a page
 * of the same file. The whole guest RAM becomes resident on the host. */
bool cap_ram_premap(struct qmp *q, const char *ram_path, double timeout)
{
    int fd = open(ram_path, O_RDWR | O_CLOEXEC);
    void *m = fd >= 0 ? mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) : MAP_FAILED;
    if (fd >= 0)
        close(fd);
    bool ok = m != MAP_FAILED && madvise(m, PAGE, MADV_POPULATE_WRITE) == 0;
    if (m != MAP_FAILED)
        munmap(m, PAGE);
    if (!ok)
        return false;
    double t0 = now_sec();
    if (qmp_cmd(q, "qom-set", json_pack("{s:s,s:s,s:b}", "path", "/objects/ffwd-ram", "property", "prealloc", "value", 1),
                NULL, timeout > 600 ? timeout : 600) < 0) {
        ffwd_warn("QEMU could not map guest RAM ahead of the background snapshot: %s", ffwd_errmsg());
        return false;
    }
    ffwd_debug("guest RAM mapped into QEMU's page tables in %.3f s (the guest running)", now_sec() - t0);
    return true;
}

/* The CRC-32 of a sparse RAM image already written. */
static int ram_image_sum(int fd, uint64_t size, const char *p, uint32_t *crc_out)
{
    const uint8_t *map = size ? mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0) : NULL;
    if (map == MAP_FAILED)
        return ffwd_seterr_errno("cannot map %s", p);
    extents_crc(fd, map, size, crc_out, NULL, NULL);
    if (map)
        munmap((void *)map, size);
    return 0;
}

/* The machine state with RAM by QEMU's background snapshot (migration
 * capability background-snapshot): with the VM stopped at the capture's
 * moment, QEMU saves the device state, write-protects guest RAM
 * (userfaultfd) and streams RAM to a file while the guest runs on; a page
 * the guest writes is saved first, so the stream holds RAM as it was at the
 * stop. The VM is resumed (*t_resumed) as soon as RAM pages flow -- by then
 * QEMU has saved the device state and armed the write protection, both with
 * the VM stopped, before the first RAM page (migration/migration.c,
 * bg_migration_thread). The stream's device state is parsed into *ms and
 * its RAM pages written to DIR/name (zero pages as holes); the stream file
 * is unlinked once mapped. Why QEMU's: the write protection must sit in
 * QEMU's own page tables, which only QEMU can arm. */
int cap_state_background(struct qmp *q, double timeout, const char *dir, const char *name, uint64_t size,
                         bool early, struct mig_stream *ms, uint64_t *nonzero, uint32_t *crc, double *t_resumed,
                         bool *resumed, double *qemu_stop)
{
    *resumed = false;
    *qemu_stop = 0;
    char *sp = xasprintf("%s/state-stream.bin", dir), *uri = xasprintf("file:%s", sp);
    char *p = xasprintf("%s/%s", dir, name);
    int out = -1;
    double tm0 = now_sec();
    int r = qmp_cmd(q, "migrate", json_pack("{s:s}", "uri", uri), NULL, timeout);
    if (r == 0 && early) {
        /* QEMU stops the guest again itself for its own part; our cont
         * either comes first (the guest runs while QEMU maps RAM) or waits
         * for the lock QEMU holds from its stop to its armed write
         * protection -- consistent either way */
        double tc = now_sec();
        if ((r = qmp_cmd(q, "cont", NULL, NULL, timeout)) == 0) {
            *resumed = true;
            *t_resumed = now_sec();
        }
        ffwd_debug("background snapshot: migrate took %.3f s, cont %.3f s", tc - tm0, now_sec() - tc);
    }
    double deadline = now_sec() + timeout;
    while (r == 0 && !*resumed) {
        json_t *m = NULL;
        if ((r = qmp_cmd(q, "query-migrate", NULL, &m, 10)) < 0)
            break;
        const char *st = json_string_value(json_object_get(m, "status")) ?: "";
        json_t *ram = json_object_get(m, "ram");
        json_int_t sent = json_integer_value(json_object_get(ram, "normal")) +
                          json_integer_value(json_object_get(ram, "duplicate"));
        if (!strcmp(st, "failed") || !strcmp(st, "cancelled"))
            r = ffwd_seterr("QEMU's background snapshot failed: %s",
                            json_string_value(json_object_get(m, "error-desc")) ?: st);
        else if (sent > 0 || !strcmp(st, "completed")) {
            ffwd_debug("background snapshot: RAM pages flow %.3f s after the migration started", now_sec() - tm0);
            if ((r = qmp_cmd(q, "cont", NULL, NULL, timeout)) == 0) {
                *resumed = true;
                *t_resumed = now_sec();
            }
        } else if (now_sec() > deadline)
            r = ffwd_seterr("QEMU's background snapshot sent no RAM page within %.0f s", timeout);
        json_decref(m);
        if (r == 0 && !*resumed)
            usleep(1000);
    }
    if (r == 0)
        r = cap_wait_migration(q, timeout > 600 ? timeout : 600); /* RAM-sized: minutes for large guests */
    json_t *fin = NULL;
    if (r == 0 && qmp_cmd(q, "query-migrate", NULL, &fin, 10) == 0) {
        /* downtime: QEMU's own stop, migration_stop_vm to the guest's resume */
        json_int_t down = json_integer_value(json_object_get(fin, "downtime"));
        ffwd_debug("background snapshot: QEMU's setup %lld ms, its stop %lld ms, total %lld ms",
                   (long long)json_integer_value(json_object_get(fin, "setup-time")), (long long)down,
                   (long long)json_integer_value(json_object_get(fin, "total-time")));
        if (early)
            *qemu_stop = (double)down / 1e3;
    }
    json_decref(fin);
    uint64_t pages = 0;
    if (r == 0 && (out = open(p, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0)
        r = ffwd_seterr_errno("cannot create %s", p);
    if (r == 0 && ftruncate(out, (off_t)size) < 0)
        r = ffwd_seterr_errno("cannot size %s", p);
    if (r == 0)
        r = mig_parse_file_ram(sp, "ffwd-ram", out, size, &pages, ms);
    unlink(sp); /* mapped: its pages stay readable until mig_free */
    if (r == 0)
        r = ram_image_sum(out, size, p, crc);
    if (out >= 0 && close(out) < 0 && r == 0)
        r = ffwd_seterr_errno("cannot write %s", p);
    if (r == 0)
        *nonzero = pages;
    free(sp), free(uri), free(p);
    return r;
}

int cap_background_setup(struct qmp *q, double timeout)
{
    return qmp_cmd(q, "migrate-set-capabilities",
                   json_pack("{s:[{s:s,s:b},{s:s,s:b}]}", "capabilities", "capability", "x-ignore-shared", "state", 0,
                             "capability", "background-snapshot", "state", 1),
                   NULL, timeout);
}

int cap_wait_migration(struct qmp *q, double timeout)
{
    double deadline = now_sec() + timeout;
    for (;;) {
        json_t *r = NULL;
        if (qmp_cmd(q, "query-migrate", NULL, &r, 10) < 0)
            return -1;
        const char *st = json_string_value(json_object_get(r, "status"));
        if (st && !strcmp(st, "completed")) {
            json_decref(r);
            return 0;
        }
        if (st && (!strcmp(st, "failed") || !strcmp(st, "cancelled"))) {
            ffwd_seterr("QEMU could not save the machine state: %s",
                        json_string_value(json_object_get(r, "error-desc")) ?: st);
            json_decref(r);
            return -1;
        }
        json_decref(r);
        if (now_sec() > deadline)
            return ffwd_seterr("saving the machine state did not finish within %.0f s", timeout);
        usleep(2000);
    }
}

