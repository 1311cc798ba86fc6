/*
 * ffwd-roi.h -- mark a region of interest from inside your own program.
 *
 *     #include "ffwd-roi.h"
 *     FFWD_ROI_BEGIN();   ... the part to study ...   FFWD_ROI_END();
 *
 * The markers are the architectural hints HINT #100 / #101: NOPs on every
 * ARMv8 CPU and in gem5, recognised by ffwd's BBV plugin (`ffwd profile
 * --roi`, and `--process roi`: count only the address space that executed
 * FFWD_ROI_BEGIN). Unlike `ffwd-guest roi-begin` (a separate process) they
 * cost one instruction and identify the process. Elsewhere than aarch64
 * they compile to nothing.
 */
#ifndef FFWD_ROI_H
#define FFWD_ROI_H

#if defined(__aarch64__)
#define FFWD_ROI_BEGIN() __asm__ volatile("hint #100" ::: "memory")
#define FFWD_ROI_END() __asm__ volatile("hint #101" ::: "memory")
#else
#define FFWD_ROI_BEGIN() ((void)0)
#define FFWD_ROI_END() ((void)0)
#endif

#endif
