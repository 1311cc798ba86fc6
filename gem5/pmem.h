/*
 * pmem.h -- writing gem5's physical-memory store file: the RAM image as a
 * series of gzip members (gem5 reads it with zlib's gzread, which decodes
 * concatenated members in sequence; src/mem/physical.cc). Chunks are
 * compressed in parallel with libdeflate; all-zero chunks (holes of the
 * sparse capture image) reuse one precomputed member.
 */
#ifndef FFWD_PMEM_H
#define FFWD_PMEM_H

#include <stdint.h>

struct pmem_stats {
    uint64_t in_bytes, out_bytes, zero_chunks, data_chunks;
};

/* Compress the first `size` bytes of `ram_path` into `out_path` (created
 * new). level: libdeflate level 1..12; threads: 1..64. */
int pmem_write(const char *ram_path, uint64_t size, const char *out_path, int level, int threads,
               struct pmem_stats *st);

#endif
