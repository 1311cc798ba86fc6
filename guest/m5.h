/*
 * m5.h -- gem5's m5 operations for aarch64 guests, and telling gem5 from QEMU.
 *
 * gem5 decodes the otherwise undefined instruction 0xff000110 | func << 16
 * as a pseudo-op ("magic instruction" ABI, gem5 util/m5/src/abi/arm64);
 * arguments in x0..x5, result in x0. Under QEMU the same word raises an
 * undefined-instruction exception, which Linux delivers as SIGILL: that is
 * how ffwd-guest knows where it runs. The probe uses M5OP_RPNS (read the
 * simulated time), which has no side effects in gem5.
 */
#ifndef FFWD_GUEST_M5_H
#define FFWD_GUEST_M5_H

#include <stdbool.h>
#include <stdint.h>

#define M5OP_RPNS 0x07
#define M5OP_EXIT 0x21
#define M5OP_RESET_STATS 0x40
#define M5OP_DUMP_STATS 0x41
#define M5OP_READ_FILE 0x50
#define M5OP_WORK_BEGIN 0x5a
#define M5OP_WORK_END 0x5b

/* true when running in gem5; probes every time (a process can be restored
 * from a checkpoint into gem5 in the middle of a loop). */
bool m5_present(void);
uint64_t m5_exit(uint64_t delay_ns);
uint64_t m5_reset_stats(uint64_t delay, uint64_t period);
uint64_t m5_dump_stats(uint64_t delay, uint64_t period);
uint64_t m5_read_file(void *buf, uint64_t len, uint64_t offset);
uint64_t m5_work_begin(uint64_t workid, uint64_t threadid);
uint64_t m5_work_end(uint64_t workid, uint64_t threadid);

#endif
