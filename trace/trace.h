/*
 * trace.h -- ffwd's memory-access trace: writer (used inside the memory
 * plugin) and reader (ffwd trace). Format: docs/trace-format.md.
 *
 * One file per vCPU, a gzip stream of: a 32-byte header, then one record
 * per access, delta-encoded against the previous record of the same file:
 *
 *   flags   1 byte   bit 0 store, bits 1-3 log2(size), bit 4 value follows,
 *                    bit 5 same PC as the previous record
 *   insns   varint   instructions retired since the previous record
 *   pc      zigzag varint, difference to the previous PC (absent if bit 5)
 *   vaddr   zigzag varint, difference to the previous virtual address
 *   pdelta  zigzag varint, change of (paddr - vaddr) (0 within a mapping)
 *   value   varint   the value loaded/stored (low 64 bits), if bit 4
 *
 * Plain C + zlib + pthreads, no other dependency, so the plugin can carry it.
 */
#ifndef FFWD_TRACE_H
#define FFWD_TRACE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <zlib.h>

#define TRACE_MAGIC "FFWDMTR1"
#define TRACE_VERSION 1u

struct trace_rec {
    uint64_t icount; /* instructions retired by this vCPU before the access (from the window start) */
    uint64_t pc, vaddr, paddr, value;
    unsigned size;   /* bytes */
    bool store, has_value;
};

/* The writer compresses on its own thread: the caller fills one buffer
 * while the other is compressed and written (the caller waits only if it
 * fills a buffer before the previous one is written). */
struct trace_writer {
    gzFile f;
    unsigned char *bufs[2], *buf;
    unsigned len;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    unsigned char *pending;
    unsigned pending_len;
    bool stop, started, failed;
    uint64_t last_icount, last_pc, last_vaddr;
    uint64_t last_pdelta; /* paddr - vaddr, modulo 2^64 */
    uint64_t records, bytes_raw;
};

/* start_icount: the vCPU's retired-instruction count when the window opened. */
int trace_open_write(struct trace_writer *w, const char *path, unsigned vcpu, uint64_t start_icount, bool values);
void trace_write(struct trace_writer *w, const struct trace_rec *r);
/* Flush and close; 0 on success. */
int trace_close_write(struct trace_writer *w);

struct trace_reader {
    gzFile f;
    unsigned char *buf;
    unsigned len, pos;
    bool eof;
    unsigned vcpu;
    bool values;
    uint64_t start_icount;
    uint64_t icount, pc, vaddr;
    uint64_t pdelta; /* paddr - vaddr, modulo 2^64 (no signed overflow on hostile input) */
    uint64_t records;
    char err[256];
};

int trace_open_read(struct trace_reader *r, const char *path);
/* 1: a record; 0: end of trace; -1: corrupt or truncated (r->err says where). */
int trace_next(struct trace_reader *r, struct trace_rec *out);
void trace_close_read(struct trace_reader *r);

#endif
