/*
 * flow.h -- control-flow profiles: what the flow plugin (qemu/plugins/flow.c)
 * wrote, per process, with names (docs/flow.md).
 *
 * flow_load() reads the plugin's file, merges the threads of each process
 * image, and names every address from the ELF files the image mapped
 * (elfsym.h). Then: flow_json() (the profile as JSON), flow_write_folded()
 * (folded stacks: "proc;main;f;g COUNT", what flame-graph tools read),
 * flow_write_svg() (ffwd's own self-contained flame graph) and
 * flow_report() (the top system calls, functions and loops, as text).
 */
#ifndef FFWD_FLOW_FLOW_H
#define FFWD_FLOW_FLOW_H

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>

#include "elfsym.h"

#define FLOW_NBINS 48

struct flow_func {
    char *name, *file; /* file: the guest path, or NULL */
    uint64_t addr, calls, incl, excl, tails;
};

struct flow_edge {
    size_t caller, callee; /* indices into funcs (SIZE_MAX: outside any call) */
    uint64_t calls;
};

struct flow_node { /* calling-context tree, merged over the threads */
    size_t parent, func; /* parent SIZE_MAX: the root */
    uint64_t calls, excl;
};

struct flow_loop {
    size_t func; /* SIZE_MAX: unknown */
    uint64_t pc, target, execs, iters, insns;
    uint64_t hist[FLOW_NBINS];
};

struct flow_sys {
    unsigned nr;
    uint64_t count, kinsns, errors;
    uint64_t hist[FLOW_NBINS];
};

struct flow_proc {
    unsigned image, parent;
    uint64_t pid;
    char *name, *path;
    unsigned threads;
    uint64_t unmatched_rets, slow_events, tail_jumps;
    struct flow_func *funcs;
    size_t nfuncs;
    struct flow_edge *edges;
    size_t nedges;
    struct flow_node *nodes;
    size_t nnodes;
    struct flow_loop *loops;
    size_t nloops;
    struct flow_sys *sys;
    size_t nsys;
    char **files; /* the ELF files that named its code, "guest path (from host path)" */
    size_t nfiles;
};

struct flow_profile {
    char *filters;
    int loops;
    uint64_t events, faults;
    struct flow_proc *procs;
    size_t nprocs;
};

/* The system call's name in the arm64 table ("syscall_N" if unknown). */
const char *flow_syscall_name(unsigned nr);

int flow_load(const char *raw_path, struct elf_files *files, struct flow_profile *out);
void flow_free(struct flow_profile *p);
json_t *flow_json(const struct flow_profile *p);
int flow_write_folded(const struct flow_profile *p, const char *path);
int flow_write_svg(const struct flow_profile *p, const char *path);
void flow_report(const struct flow_profile *p, FILE *f, unsigned top);

#endif
