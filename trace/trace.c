/* trace.c -- memory-access trace writer and reader (see trace.h). */
#include "trace.h"

#include <stdio.h>
#include <stdlib.h>
#include <errno.h>
#include <string.h>

#define WBUF (1u << 16)   /* reader buffer */
#define WRBUF (1u << 20)  /* each of the two writer buffers */

static unsigned put_varint(unsigned char *p, uint64_t v)
{
    unsigned n = 0;
    while (v >= 0x80) {
        p[n++] = (unsigned char)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (unsigned char)v;
    return n;
}

static uint64_t zigzag(int64_t v) { return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63); }
static int64_t unzigzag(uint64_t v) { return (int64_t)(v >> 1) ^ -(int64_t)(v & 1); }

static void put_u32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}
static void put_u64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}
static uint64_t get_u64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static void *writer_main(void *arg)
{
    struct trace_writer *w = arg;
    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (!w->pending && !w->stop)
            pthread_cond_wait(&w->cv, &w->mu);
        if (!w->pending)
            break; /* stop, and nothing left */
        unsigned char *p = w->pending;
        unsigned n = w->pending_len;
        pthread_mutex_unlock(&w->mu);
        bool ok = gzwrite(w->f, p, n) == (int)n;
        pthread_mutex_lock(&w->mu);
        w->failed |= !ok;
        w->pending = NULL;
        pthread_cond_broadcast(&w->cv);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

int trace_open_write(struct trace_writer *w, const char *path, unsigned vcpu, uint64_t start_icount, bool values)
{
    memset(w, 0, sizeof *w);
    w->f = gzopen(path, "wb1");
    w->bufs[0] = malloc(WRBUF);
    w->bufs[1] = malloc(WRBUF);
    w->buf = w->bufs[0];
    if (!w->f || !w->bufs[0] || !w->bufs[1]) {
        if (w->f)
            gzclose(w->f);
        free(w->bufs[0]);
        free(w->bufs[1]);
        memset(w, 0, sizeof *w);
        return -1;
    }
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    unsigned char h[32] = {0};
    memcpy(h, TRACE_MAGIC, 8);
    put_u32(h + 8, TRACE_VERSION);
    put_u32(h + 12, values ? 1u : 0u);
    put_u32(h + 16, vcpu);
    put_u64(h + 20, start_icount);
    if (gzwrite(w->f, h, sizeof h) != (int)sizeof h)
        w->failed = true;
    w->started = pthread_create(&w->thread, NULL, writer_main, w) == 0;
    return w->failed ? -1 : 0;
}

/* Hand the filled buffer to the writer thread (or write it here without one). */
static void flush(struct trace_writer *w)
{
    if (!w->len || !w->f)
        return;
    if (!w->started) {
        w->failed |= gzwrite(w->f, w->buf, w->len) != (int)w->len;
        w->len = 0;
        return;
    }
    pthread_mutex_lock(&w->mu);
    while (w->pending)
        pthread_cond_wait(&w->cv, &w->mu);
    w->pending = w->buf;
    w->pending_len = w->len;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    w->buf = w->buf == w->bufs[0] ? w->bufs[1] : w->bufs[0];
    w->len = 0;
}

void trace_write(struct trace_writer *w, const struct trace_rec *r)
{
    if (!w->f)
        return;
    if (w->len > WRBUF - 64)
        flush(w);
    unsigned char *p = w->buf + w->len;
    unsigned shift = 0;
    while ((1u << shift) < r->size && shift < 7)
        shift++;
    bool same_pc = r->pc == w->last_pc && w->records;
    unsigned n = 1;
    p[0] = (unsigned char)((r->store ? 1 : 0) | shift << 1 | (r->has_value ? 0x10 : 0) | (same_pc ? 0x20 : 0));
    n += put_varint(p + n, r->icount - w->last_icount);
    if (!same_pc)
        n += put_varint(p + n, zigzag((int64_t)(r->pc - w->last_pc)));
    n += put_varint(p + n, zigzag((int64_t)(r->vaddr - w->last_vaddr)));
    uint64_t pd = r->paddr - r->vaddr;
    n += put_varint(p + n, zigzag((int64_t)(pd - w->last_pdelta)));
    if (r->has_value)
        n += put_varint(p + n, r->value);
    w->len += n;
    w->bytes_raw += n;
    w->records++;
    w->last_icount = r->icount;
    w->last_pc = r->pc;
    w->last_vaddr = r->vaddr;
    w->last_pdelta = pd;
}

int trace_close_write(struct trace_writer *w)
{
    int rc = 0;
    if (w->f) {
        flush(w);
        if (w->started) {
            pthread_mutex_lock(&w->mu);
            w->stop = true;
            pthread_cond_broadcast(&w->cv);
            pthread_mutex_unlock(&w->mu);
            pthread_join(w->thread, NULL);
            w->started = false;
        }
        rc = gzclose(w->f) == Z_OK && !w->failed ? 0 : -1;
        pthread_mutex_destroy(&w->mu);
        pthread_cond_destroy(&w->cv);
    }
    free(w->bufs[0]);
    free(w->bufs[1]);
    memset(w->bufs, 0, sizeof w->bufs);
    w->f = NULL;
    w->buf = NULL;
    return rc;
}

int trace_open_read(struct trace_reader *r, const char *path)
{
    memset(r, 0, sizeof *r);
    r->f = gzopen(path, "rb");
    if (!r->f) {
        snprintf(r->err, sizeof r->err, "%s: cannot open: %s", path, strerror(errno ? errno : ENOENT));
        return -1;
    }
    unsigned char h[32];
    if (gzread(r->f, h, sizeof h) != (int)sizeof h || memcmp(h, TRACE_MAGIC, 8)) {
        snprintf(r->err, sizeof r->err, "%s: not an ffwd memory trace (magic %s)", path, TRACE_MAGIC);
        gzclose(r->f);
        r->f = NULL;
        return -1;
    }
    uint32_t ver = (uint32_t)h[8] | (uint32_t)h[9] << 8 | (uint32_t)h[10] << 16 | (uint32_t)h[11] << 24;
    if (ver != TRACE_VERSION) {
        snprintf(r->err, sizeof r->err, "%s: trace version %u, this ffwd reads %u", path, ver, TRACE_VERSION);
        gzclose(r->f);
        r->f = NULL;
        return -1;
    }
    r->values = h[12] & 1;
    r->vcpu = (unsigned)h[16] | (unsigned)h[17] << 8;
    r->start_icount = get_u64(h + 20);
    r->buf = malloc(WBUF);
    return r->buf ? 0 : -1;
}

/* Make sure at least `need` bytes are buffered (fewer only at the end). */
static void fill(struct trace_reader *r, unsigned need)
{
    if (r->len - r->pos >= need || r->eof)
        return;
    memmove(r->buf, r->buf + r->pos, r->len - r->pos);
    r->len -= r->pos;
    r->pos = 0;
    int n = gzread(r->f, r->buf + r->len, WBUF - r->len);
    if (n <= 0)
        r->eof = true;
    else
        r->len += (unsigned)n;
}

static int get_varint(struct trace_reader *r, uint64_t *v)
{
    uint64_t x = 0;
    for (unsigned s = 0; s < 70; s += 7) {
        if (r->pos >= r->len)
            return -1;
        unsigned char b = r->buf[r->pos++];
        x |= (uint64_t)(b & 0x7f) << s;
        if (!(b & 0x80)) {
            *v = x;
            return 0;
        }
    }
    return -1;
}

int trace_next(struct trace_reader *r, struct trace_rec *out)
{
    fill(r, 64);
    if (r->pos >= r->len) {
        int e;
        const char *m = gzerror(r->f, &e);
        if (e != Z_OK && e != Z_STREAM_END) {
            snprintf(r->err, sizeof r->err, "after %llu records: %s", (unsigned long long)r->records, m);
            return -1;
        }
        return 0;
    }
    unsigned char fl = r->buf[r->pos++];
    uint64_t d_ic, d_pc = 0, d_va, d_pd, val = 0;
    if ((fl & 0xc0) || get_varint(r, &d_ic) < 0 || (!(fl & 0x20) && get_varint(r, &d_pc) < 0) ||
        get_varint(r, &d_va) < 0 || get_varint(r, &d_pd) < 0 || ((fl & 0x10) && get_varint(r, &val) < 0)) {
        snprintf(r->err, sizeof r->err, "record %llu is corrupt or truncated", (unsigned long long)r->records + 1);
        return -1;
    }
    r->icount += d_ic;
    if (!(fl & 0x20))
        r->pc += (uint64_t)unzigzag(d_pc);
    r->vaddr += (uint64_t)unzigzag(d_va);
    r->pdelta += (uint64_t)unzigzag(d_pd);
    out->icount = r->icount;
    out->pc = r->pc;
    out->vaddr = r->vaddr;
    out->paddr = r->vaddr + r->pdelta;
    out->store = fl & 1;
    out->size = 1u << ((fl >> 1) & 7);
    out->has_value = fl & 0x10;
    out->value = val;
    r->records++;
    return 1;
}

void trace_close_read(struct trace_reader *r)
{
    if (r->f)
        gzclose(r->f);
    free(r->buf);
    r->f = NULL;
    r->buf = NULL;
}
