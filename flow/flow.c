/*
 * flow.c -- read the flow plugin's file, name it, and show it (flow.h).
 *
 * The plugin writes one record per task and program (a thread, or a process
 * before and after execve); here the threads of a program are merged by
 * function address, so a process is one table. Names: an address is a
 * program, interpreter or mapped file address; the file's own address is
 * looked up in its ELF symbols (elfsym.c).
 */
#define _GNU_SOURCE
#include "flow.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "../common/err.h"
#include "../common/util.h"

extern const char *const flow_syscall_names[];
extern const size_t flow_nsyscall_names;

const char *flow_syscall_name(unsigned nr)
{
    static __thread char buf[32];
    if (nr < flow_nsyscall_names && flow_syscall_names[nr])
        return flow_syscall_names[nr];
    snprintf(buf, sizeof buf, "syscall_%u", nr);
    return buf;
}

/* ---- the raw file ---- */

struct rmap {
    unsigned image;
    uint64_t start, len, off;
    char *path;
};

struct rimage {
    unsigned id, parent;
    uint64_t pid, at_entry, at_base, at_phdr;
    char *name, *path;
};

static char *unesc(const char *s)
{
    if (!strcmp(s, "-"))
        return xstrdup("");
    char *o = xmalloc(strlen(s) + 1), *q = o;
    for (const char *p = s; *p; p++) {
        unsigned x;
        if (*p == '%' && sscanf(p + 1, "%2x", &x) == 1)
            *q++ = (char)x, p += 2;
        else
            *q++ = *p;
    }
    *q = 0;
    return o;
}

/* Add a histogram written as "n0,n1,..." ("-": empty) to h. */
static void hist_add(const char *s, uint64_t *h)
{
    if (!strcmp(s, "-"))
        return;
    for (unsigned i = 0; i < FLOW_NBINS && *s; i++) {
        char *end;
        h[i] += strtoull(s, &end, 10);
        s = *end == ',' ? end + 1 : end;
    }
}

/* ---- naming ---- */

struct namer {
    struct elf_files *files;
    const struct rimage *im;
    const struct rmap *maps;
    size_t nmaps;
    const struct elf_file *prog, *interp;
    uint64_t prog_bias;
};

/* The file and file address of a virtual address. */
static const struct elf_file *where(struct namer *nm, uint64_t va, uint64_t *fva)
{
    if (nm->prog)
        for (size_t i = 0; i < nm->prog->nsegs; i++) {
            const struct elf_seg *s = &nm->prog->segs[i];
            if (va >= s->vaddr + nm->prog_bias && va < s->vaddr + nm->prog_bias + s->memsz) {
                *fva = va - nm->prog_bias;
                return nm->prog;
            }
        }
    if (nm->interp && nm->im->at_base)
        for (size_t i = 0; i < nm->interp->nsegs; i++) {
            const struct elf_seg *s = &nm->interp->segs[i];
            if (va >= s->vaddr + nm->im->at_base && va < s->vaddr + nm->im->at_base + s->memsz) {
                *fva = va - nm->im->at_base;
                return nm->interp;
            }
        }
    for (size_t i = nm->nmaps; i-- > 0;) { /* the newest mapping of an address wins */
        const struct rmap *m = &nm->maps[i];
        if (va < m->start || va >= m->start + m->len)
            continue;
        const struct elf_file *ef = elf_files_get(nm->files, m->path);
        if (!ef)
            return NULL;
        uint64_t off = va - m->start + m->off;
        for (size_t k = 0; k < ef->nsegs; k++) {
            const struct elf_seg *s = &ef->segs[k];
            if (off >= s->offset && off < s->offset + s->memsz) {
                *fva = s->vaddr + (off - s->offset);
                return ef;
            }
        }
        return NULL;
    }
    return NULL;
}

static char *name_of(struct namer *nm, uint64_t va, char **file)
{
    uint64_t fva = 0;
    const struct elf_file *ef = where(nm, va, &fva);
    *file = ef ? xstrdup(ef->guest_path) : NULL;
    const struct elf_sym *s = ef ? elf_file_sym(ef, fva) : NULL;
    if (s && s->addr == fva)
        return xstrdup(s->name);
    if (s)
        return xasprintf("%s+%#" PRIx64, s->name, fva - s->addr);
    if (ef) {
        const char *b = strrchr(ef->guest_path, '/');
        return xasprintf("%s@%#" PRIx64, b ? b + 1 : ef->guest_path, fva);
    }
    return xasprintf("%#" PRIx64, va);
}

/* ---- merging a process's threads ---- */

static size_t proc_func(struct flow_proc *p, struct namer *nm, uint64_t addr)
{
    for (size_t i = 0; i < p->nfuncs; i++) /* few functions per process: linear is fine */
        if (p->funcs[i].addr == addr)
            return i;
    p->funcs = xrealloc(p->funcs, (p->nfuncs + 1) * sizeof *p->funcs);
    struct flow_func *f = &p->funcs[p->nfuncs];
    memset(f, 0, sizeof *f);
    f->addr = addr;
    f->name = name_of(nm, addr, &f->file);
    return p->nfuncs++;
}

struct raw {
    struct rimage *im;
    size_t nim;
    struct rmap *maps;
    size_t nmaps;
};

static struct flow_proc *proc_for(struct flow_profile *fp, struct raw *raw, unsigned image)
{
    for (size_t i = 0; i < fp->nprocs; i++)
        if (fp->procs[i].image == image)
            return &fp->procs[i];
    const struct rimage *im = NULL;
    for (size_t i = 0; i < raw->nim; i++)
        if (raw->im[i].id == image)
            im = &raw->im[i];
    if (!im)
        return NULL;
    fp->procs = xrealloc(fp->procs, (fp->nprocs + 1) * sizeof *fp->procs);
    struct flow_proc *p = &fp->procs[fp->nprocs++];
    memset(p, 0, sizeof *p);
    p->image = image, p->parent = im->parent, p->pid = im->pid;
    p->name = xstrdup(im->name), p->path = xstrdup(im->path);
    return p;
}

static void namer_init(struct namer *nm, struct raw *raw, struct elf_files *files, unsigned image)
{
    memset(nm, 0, sizeof *nm);
    nm->files = files;
    for (size_t i = 0; i < raw->nim; i++)
        if (raw->im[i].id == image)
            nm->im = &raw->im[i];
    nm->maps = raw->maps, nm->nmaps = 0;
    /* this image's mappings (kept together in the file) */
    size_t first = SIZE_MAX;
    for (size_t i = 0; i < raw->nmaps; i++)
        if (raw->maps[i].image == image) {
            if (first == SIZE_MAX)
                first = i;
            nm->nmaps = i - first + 1;
        }
    if (first != SIZE_MAX)
        nm->maps = raw->maps + first;
    if (nm->im && nm->im->path[0]) {
        nm->prog = elf_files_get(files, nm->im->path);
        if (nm->prog) {
            nm->prog_bias = nm->prog->dyn && nm->im->at_entry ? nm->im->at_entry - nm->prog->entry : 0;
            if (nm->prog->interp)
                nm->interp = elf_files_get(files, nm->prog->interp);
        }
    }
}

static void note_files(struct flow_proc *p, struct namer *nm)
{
    const struct elf_file *seen[2] = {nm->prog, nm->interp};
    for (int i = 0; i < 2; i++)
        if (seen[i]) {
            p->files = xrealloc(p->files, (p->nfiles + 1) * sizeof *p->files);
            p->files[p->nfiles++] = xasprintf("%s (%s%s)", seen[i]->guest_path, seen[i]->host_path,
                                              seen[i]->from_dynsym ? ", dynamic symbols only" : "");
        }
    for (size_t i = 0; i < nm->nmaps; i++) {
        const struct elf_file *ef = elf_files_get(nm->files, nm->maps[i].path);
        bool dup = ef == nm->prog || ef == nm->interp;
        for (size_t k = 0; k < i && !dup; k++)
            dup = !strcmp(nm->maps[k].path, nm->maps[i].path);
        if (ef && !dup) {
            p->files = xrealloc(p->files, (p->nfiles + 1) * sizeof *p->files);
            p->files[p->nfiles++] = xasprintf("%s (%s%s)", ef->guest_path, ef->host_path,
                                              ef->from_dynsym ? ", dynamic symbols only" : "");
        }
    }
}

int flow_load(const char *raw_path, struct elf_files *files, struct flow_profile *fp)
{
    memset(fp, 0, sizeof *fp);
    FILE *f = fopen(raw_path, "r");
    if (!f)
        return ffwd_seterr_errno("%s", raw_path);
    struct raw raw = {0};
    char *line = NULL;
    size_t cap = 0;
    unsigned lineno = 0;
    int rc = -1;
    bool ended = false;
    /* per trec: its process and the translation of its function/node indices */
    struct tmap {
        unsigned id;
        struct flow_proc *p;
        size_t *fmap, nf; /* trec function index -> process function */
        size_t *nmap, nn; /* trec node index -> process node */
        struct namer nm;
    } cur = {0};
    while (getline(&line, &cap, f) > 0) {
        lineno++;
        line[strcspn(line, "\n")] = 0;
        char *tok[16];
        int nt = 0;
        for (char *s = strtok(line, " "); s && nt < 16; s = strtok(NULL, " "))
            tok[nt++] = s;
        if (!nt)
            continue;
#define NEED(n)                                                                                                    \
    do {                                                                                                           \
        if (nt < (n)) {                                                                                            \
            ffwd_seterr("%s:%u: a '%s' record needs %d fields (has %d)", raw_path, lineno, tok[0], (n), nt);        \
            goto out;                                                                                              \
        }                                                                                                          \
    } while (0)
#define U(i) strtoull(tok[i], NULL, 0)
        if (lineno == 1) {
            if (strcmp(tok[0], "ffwd-flow-raw") || nt < 2 || strcmp(tok[1], "1")) {
                ffwd_seterr("%s: not a flow plugin file (ffwd-flow-raw 1)", raw_path);
                goto out;
            }
        } else if (!strcmp(tok[0], "info")) {
            NEED(3);
            if (!strcmp(tok[1], "loops"))
                fp->loops = atoi(tok[2]);
            else if (!strcmp(tok[1], "filters"))
                free(fp->filters), fp->filters = xstrdup(tok[2]);
            else if (!strcmp(tok[1], "events"))
                fp->events = U(2);
            else if (!strcmp(tok[1], "faults"))
                fp->faults = U(2);
        } else if (!strcmp(tok[0], "image")) {
            NEED(9);
            raw.im = xrealloc(raw.im, (raw.nim + 1) * sizeof *raw.im);
            raw.im[raw.nim++] = (struct rimage){(unsigned)U(1), (unsigned)U(2), U(3), U(6), U(7), U(8),
                                                unesc(tok[4]), unesc(tok[5])};
        } else if (!strcmp(tok[0], "map")) {
            NEED(6);
            raw.maps = xrealloc(raw.maps, (raw.nmaps + 1) * sizeof *raw.maps);
            raw.maps[raw.nmaps++] = (struct rmap){(unsigned)U(1), U(2), U(3), U(4), unesc(tok[5])};
        } else if (!strcmp(tok[0], "trec")) {
            NEED(6);
            free(cur.fmap), free(cur.nmap);
            memset(&cur, 0, sizeof cur);
            cur.id = (unsigned)U(1);
            unsigned image = (unsigned)U(3);
            namer_init(&cur.nm, &raw, files, image);
            cur.p = proc_for(fp, &raw, image);
            if (!cur.p) {
                ffwd_seterr("%s:%u: task record of unknown image %u", raw_path, lineno, image);
                goto out;
            }
            if (!cur.p->threads)
                note_files(cur.p, &cur.nm);
            cur.p->threads++;
            cur.p->unmatched_rets += U(4), cur.p->slow_events += U(5);
        } else if (!cur.p && strcmp(tok[0], "end")) {
            ffwd_seterr("%s:%u: '%s' before any task record", raw_path, lineno, tok[0]);
            goto out;
        } else if (!strcmp(tok[0], "func")) {
            NEED(8);
            size_t j = U(2), pf = proc_func(cur.p, &cur.nm, U(3));
            if (j >= cur.nf) {
                cur.fmap = xrealloc(cur.fmap, (j + 1) * sizeof *cur.fmap);
                for (size_t k = cur.nf; k <= j; k++)
                    cur.fmap[k] = SIZE_MAX;
                cur.nf = j + 1;
            }
            cur.fmap[j] = pf;
            struct flow_func *fn = &cur.p->funcs[pf];
            fn->calls += U(4), fn->incl += U(5), fn->excl += U(6), fn->tails += U(7);
        } else if (!strcmp(tok[0], "node")) {
            NEED(7);
            size_t j = U(2), par = U(3), fi = U(4);
            size_t pfunc = fi < cur.nf ? cur.fmap[fi] : SIZE_MAX;
            size_t ppar = par == 0 ? SIZE_MAX : par < cur.nn ? cur.nmap[par] : SIZE_MAX;
            /* the same path in another thread is the same node */
            size_t k;
            for (k = 0; k < cur.p->nnodes; k++)
                if (cur.p->nodes[k].parent == ppar && cur.p->nodes[k].func == pfunc)
                    break;
            if (k == cur.p->nnodes) {
                cur.p->nodes = xrealloc(cur.p->nodes, (k + 1) * sizeof *cur.p->nodes);
                cur.p->nodes[k] = (struct flow_node){ppar, pfunc, 0, 0};
                cur.p->nnodes++;
            }
            cur.p->nodes[k].calls += U(5), cur.p->nodes[k].excl += U(6);
            if (j >= cur.nn) {
                cur.nmap = xrealloc(cur.nmap, (j + 1) * sizeof *cur.nmap);
                for (size_t q = cur.nn; q <= j; q++)
                    cur.nmap[q] = SIZE_MAX;
                cur.nn = j + 1;
            }
            cur.nmap[j] = k;
        } else if (!strcmp(tok[0], "edge")) {
            NEED(5);
            size_t a = U(2), b = U(3);
            size_t pa = a && a < cur.nf ? cur.fmap[a] : SIZE_MAX, pb = b < cur.nf ? cur.fmap[b] : SIZE_MAX;
            size_t k;
            for (k = 0; k < cur.p->nedges; k++)
                if (cur.p->edges[k].caller == pa && cur.p->edges[k].callee == pb)
                    break;
            if (k == cur.p->nedges) {
                cur.p->edges = xrealloc(cur.p->edges, (k + 1) * sizeof *cur.p->edges);
                cur.p->edges[k] = (struct flow_edge){pa, pb, 0};
                cur.p->nedges++;
            }
            cur.p->edges[k].calls += U(4);
        } else if (!strcmp(tok[0], "loop")) {
            NEED(8);
            uint64_t pc = U(2);
            size_t k;
            for (k = 0; k < cur.p->nloops; k++)
                if (cur.p->loops[k].pc == pc)
                    break;
            if (k == cur.p->nloops) {
                cur.p->loops = xrealloc(cur.p->loops, (k + 1) * sizeof *cur.p->loops);
                memset(&cur.p->loops[k], 0, sizeof cur.p->loops[k]);
                cur.p->loops[k].pc = pc, cur.p->loops[k].target = U(3);
                /* the function that holds it: the named symbol containing the back-edge */
                char *file = NULL, *nmx = name_of(&cur.nm, pc, &file);
                char *plus = strchr(nmx, '+');
                if (plus) {
                    uint64_t off = strtoull(plus + 1, NULL, 0);
                    cur.p->loops[k].func = proc_func(cur.p, &cur.nm, pc - off);
                } else
                    cur.p->loops[k].func = SIZE_MAX;
                /* a backward branch to the start of another function is a tail
                 * jump (e.g. `b main`), not a loop */
                char *tfile = NULL, *tn = name_of(&cur.nm, U(3), &tfile);
                bool jump = plus && !strchr(tn, '+') && !strchr(tn, '@') && tn[0] != '0' &&
                            strncmp(nmx, tn, (size_t)(plus - nmx)) != 0;
                free(nmx), free(file), free(tn), free(tfile);
                if (jump) {
                    cur.p->tail_jumps++;
                    continue;
                }
                cur.p->nloops++;
            }
            struct flow_loop *l = &cur.p->loops[k];
            hist_add(tok[7], l->hist);
            l->execs += U(4), l->iters += U(5), l->insns += U(6);
        } else if (!strcmp(tok[0], "sys")) {
            NEED(7);
            unsigned nr = (unsigned)U(2);
            size_t k;
            for (k = 0; k < cur.p->nsys; k++)
                if (cur.p->sys[k].nr == nr)
                    break;
            if (k == cur.p->nsys) {
                cur.p->sys = xrealloc(cur.p->sys, (k + 1) * sizeof *cur.p->sys);
                memset(&cur.p->sys[k], 0, sizeof cur.p->sys[k]);
                cur.p->sys[k].nr = nr;
                cur.p->nsys++;
            }
            struct flow_sys *s = &cur.p->sys[k];
            hist_add(tok[6], s->hist);
            s->count += U(3), s->kinsns += U(4), s->errors += U(5);
        } else if (!strcmp(tok[0], "end"))
            ended = true;
#undef NEED
#undef U
    }
    if (!ended) {
        ffwd_seterr("%s: cut short (no 'end' record): the run did not finish", raw_path);
        goto out;
    }
    rc = 0;
out:
    free(cur.fmap), free(cur.nmap);
    free(line);
    fclose(f);
    for (size_t i = 0; i < raw.nim; i++)
        free(raw.im[i].name), free(raw.im[i].path);
    for (size_t i = 0; i < raw.nmaps; i++)
        free(raw.maps[i].path);
    free(raw.im), free(raw.maps);
    if (rc < 0)
        flow_free(fp);
    return rc;
}

void flow_free(struct flow_profile *fp)
{
    for (size_t i = 0; i < fp->nprocs; i++) {
        struct flow_proc *p = &fp->procs[i];
        for (size_t k = 0; k < p->nfuncs; k++)
            free(p->funcs[k].name), free(p->funcs[k].file);
        for (size_t k = 0; k < p->nfiles; k++)
            free(p->files[k]);
        free(p->funcs), free(p->edges), free(p->nodes), free(p->loops), free(p->sys), free(p->files);
        free(p->name), free(p->path);
    }
    free(fp->procs);
    free(fp->filters);
    memset(fp, 0, sizeof *fp);
}

/* ---- JSON ---- */

static json_t *hist_json(const uint64_t *h)
{
    unsigned top = FLOW_NBINS;
    while (top && !h[top - 1])
        top--;
    json_t *a = json_array();
    for (unsigned i = 0; i < top; i++)
        json_array_append_new(a, json_integer((json_int_t)h[i]));
    return a;
}

static const char *fname(const struct flow_proc *p, size_t i) { return i < p->nfuncs ? p->funcs[i].name : "(outside)"; }

json_t *flow_json(const struct flow_profile *fp)
{
    json_t *procs = json_array();
    for (size_t i = 0; i < fp->nprocs; i++) {
        const struct flow_proc *p = &fp->procs[i];
        json_t *funcs = json_array(), *edges = json_array(), *loops = json_array(), *sys = json_array(),
               *files = json_array();
        for (size_t k = 0; k < p->nfuncs; k++) {
            const struct flow_func *fn = &p->funcs[k];
            if (!fn->calls)
                continue;
            char a[24];
            snprintf(a, sizeof a, "%#" PRIx64, fn->addr);
            json_array_append_new(funcs, json_pack("{s:s, s:s, s:s?, s:I, s:I, s:I, s:I}", "name", fn->name, "address",
                                                   a, "file", fn->file, "calls", (json_int_t)fn->calls, "inclusive",
                                                   (json_int_t)fn->incl, "exclusive", (json_int_t)fn->excl,
                                                   "tail_calls", (json_int_t)fn->tails));
        }
        for (size_t k = 0; k < p->nedges; k++)
            json_array_append_new(edges, json_pack("{s:s, s:s, s:I}", "caller", fname(p, p->edges[k].caller), "callee",
                                                   fname(p, p->edges[k].callee), "calls",
                                                   (json_int_t)p->edges[k].calls));
        for (size_t k = 0; k < p->nloops; k++) {
            const struct flow_loop *l = &p->loops[k];
            char a[24], t[24];
            snprintf(a, sizeof a, "%#" PRIx64, l->pc);
            snprintf(t, sizeof t, "%#" PRIx64, l->target);
            json_array_append_new(loops, json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:o}", "function",
                                                   fname(p, l->func), "branch", a, "target", t, "executions",
                                                   (json_int_t)l->execs, "iterations", (json_int_t)l->iters,
                                                   "instructions", (json_int_t)l->insns, "trips_log2",
                                                   hist_json(l->hist)));
        }
        for (size_t k = 0; k < p->nsys; k++) {
            const struct flow_sys *s = &p->sys[k];
            json_array_append_new(sys, json_pack("{s:i, s:s, s:I, s:I, s:I, s:o}", "nr", (int)s->nr, "name",
                                                 flow_syscall_name(s->nr), "count", (json_int_t)s->count,
                                                 "kernel_instructions", (json_int_t)s->kinsns, "errors",
                                                 (json_int_t)s->errors, "instructions_log2", hist_json(s->hist)));
        }
        for (size_t k = 0; k < p->nfiles; k++)
            json_array_append_new(files, json_string(p->files[k]));
        json_array_append_new(procs, json_pack("{s:I, s:s, s:s, s:i, s:i, s:i, s:I, s:I, s:I, s:o, s:o, s:o, s:o, s:o}",
                                               "pid", (json_int_t)p->pid, "name", p->name, "path", p->path, "image",
                                               (int)p->image, "parent_image", (int)p->parent, "threads",
                                               (int)p->threads, "unmatched_returns", (json_int_t)p->unmatched_rets,
                                               "events_at_shared_code", (json_int_t)p->slow_events, "tail_jumps_backward", (json_int_t)p->tail_jumps, "symbol_files",
                                               files, "syscalls", sys, "functions", funcs, "calls", edges, "loops",
                                               loops));
    }
    return json_pack("{s:s, s:i, s:s, s:b, s:I, s:I, s:o}", "format", "ffwd-flow", "version", 1, "filters",
                     fp->filters ? fp->filters : "all", "loops", fp->loops, "events", (json_int_t)fp->events,
                     "faulting_instructions_uncounted", (json_int_t)fp->faults,
                     "processes", procs);
}

/* ---- folded stacks and the flame graph ---- */

static void node_path(const struct flow_proc *p, size_t n, struct sbuf *b)
{
    if (n == SIZE_MAX)
        return;
    node_path(p, p->nodes[n].parent, b);
    sbuf_addc(b, ';');
    for (const char *s = fname(p, p->nodes[n].func); *s; s++)
        sbuf_addc(b, *s == ';' || *s == ' ' ? '_' : *s);
}

int flow_write_folded(const struct flow_profile *fp, const char *path)
{
    struct sbuf b = {0};
    for (size_t i = 0; i < fp->nprocs; i++) {
        const struct flow_proc *p = &fp->procs[i];
        for (size_t n = 0; n < p->nnodes; n++) {
            if (!p->nodes[n].excl)
                continue;
            sbuf_addf(&b, "%s-%" PRIu64, p->name, p->pid);
            node_path(p, n, &b);
            sbuf_addf(&b, " %" PRIu64 "\n", p->nodes[n].excl);
        }
    }
    int rc = write_file_atomic(path, b.s ? b.s : "", b.len, 0644);
    sbuf_free(&b);
    return rc;
}

/* Inclusive instructions of every node (its own plus its descendants'). */
static uint64_t *node_incl(const struct flow_proc *p)
{
    uint64_t *in = xcalloc(p->nnodes + 1, sizeof *in);
    for (size_t n = 0; n < p->nnodes; n++)
        for (size_t a = n; a != SIZE_MAX; a = p->nodes[a].parent)
            in[a] += p->nodes[n].excl;
    return in;
}

static void xml_text(struct sbuf *b, const char *s)
{
    for (; *s; s++)
        if (*s == '<')
            sbuf_addf(b, "&lt;");
        else if (*s == '>')
            sbuf_addf(b, "&gt;");
        else if (*s == '&')
            sbuf_addf(b, "&amp;");
        else if (*s == '"')
            sbuf_addf(b, "&quot;");
        else
            sbuf_addc(b, *s);
}

#define SVG_W 1200.0
#define ROW 17

static void svg_node(struct sbuf *b, const struct flow_proc *p, const uint64_t *in, size_t n, double x, double w,
                     int depth, int *maxdepth, double y0, uint64_t total)
{
    if (w < 0.3)
        return;
    if (depth > *maxdepth)
        *maxdepth = depth;
    const char *nm = fname(p, p->nodes[n].func);
    unsigned h = 0;
    for (const char *s = nm; *s; s++)
        h = h * 31 + (unsigned char)*s;
    double y = y0 - (double)depth * ROW;
    sbuf_addf(b, "<g><title>");
    xml_text(b, nm);
    sbuf_addf(b, " (%" PRIu64 " instructions, %.2f %%, %" PRIu64 " calls)</title>", in[n],
              100.0 * (double)in[n] / (double)total, p->nodes[n].calls);
    sbuf_addf(b, "<rect x=\"%.2f\" y=\"%d\" width=\"%.2f\" height=\"%d\" fill=\"rgb(%u,%u,%u)\" rx=\"2\"/>", x,
              (int)y, w, ROW - 1, 200 + h % 55, 80 + (h >> 8) % 120, 40 + (h >> 16) % 40);
    if (w > 40) {
        sbuf_addf(b, "<text x=\"%.2f\" y=\"%d\">", x + 3, (int)y + ROW - 5);
        size_t maxc = (size_t)(w / 7);
        char *t = strndup(nm, maxc > 2 ? maxc - 2 : 0);
        xml_text(b, t);
        if (strlen(nm) > strlen(t))
            sbuf_addf(b, "..");
        free(t);
        sbuf_addf(b, "</text>");
    }
    sbuf_addf(b, "</g>\n");
    double cx = x;
    for (size_t c = 0; c < p->nnodes; c++)
        if (p->nodes[c].parent == n && in[c]) {
            double cw = w * (double)in[c] / (double)in[n];
            svg_node(b, p, in, c, cx, cw, depth + 1, maxdepth, y0, total);
            cx += cw;
        }
}

int flow_write_svg(const struct flow_profile *fp, const char *path)
{
    struct sbuf body = {0};
    double y = 0;
    for (size_t i = 0; i < fp->nprocs; i++) {
        const struct flow_proc *p = &fp->procs[i];
        uint64_t *in = node_incl(p), total = 0;
        int depth = 0;
        for (size_t n = 0; n < p->nnodes; n++) /* the tree's depth first: the graph grows up from its base */
            if (p->nodes[n].parent == SIZE_MAX)
                total += in[n];
        int d = 0;
        for (size_t n = 0; n < p->nnodes; n++) {
            int k = 0;
            for (size_t a = n; a != SIZE_MAX; a = p->nodes[a].parent)
                k++;
            if (k > d)
                d = k;
        }
        if (!total) {
            free(in);
            continue;
        }
        y += 30;
        sbuf_addf(&body, "<text x=\"4\" y=\"%d\" class=\"h\">", (int)y - 8);
        xml_text(&body, p->name);
        sbuf_addf(&body, " (pid %" PRIu64 "): %" PRIu64 " user instructions in calls</text>\n", p->pid, total);
        double base = y + (double)(d - 1) * ROW, x = 0;
        for (size_t n = 0; n < p->nnodes; n++)
            if (p->nodes[n].parent == SIZE_MAX && in[n]) {
                double w = SVG_W * (double)in[n] / (double)total;
                svg_node(&body, p, in, n, x, w, 0, &depth, base, total);
                x += w;
            }
        y = base + ROW + 10;
        free(in);
    }
    struct sbuf b = {0};
    sbuf_addf(&b,
              "<?xml version=\"1.0\" standalone=\"no\"?>\n"
              "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\">\n"
              "<style>text{font:11px monospace;fill:#000} .h{font:bold 13px sans-serif}</style>\n"
              "<rect width=\"100%%\" height=\"100%%\" fill=\"#fff\"/>\n",
              (int)SVG_W, (int)y + 10, (int)SVG_W, (int)y + 10);
    if (body.s)
        sbuf_add(&b, body.s, body.len);
    sbuf_addf(&b, "</svg>\n");
    int rc = write_file_atomic(path, b.s, b.len, 0644);
    sbuf_free(&b);
    sbuf_free(&body);
    return rc;
}

/* ---- text report ---- */

static const struct flow_proc *sort_p;
static int by_incl(const void *a, const void *b)
{
    const struct flow_func *x = &sort_p->funcs[*(const size_t *)a], *y = &sort_p->funcs[*(const size_t *)b];
    return x->incl < y->incl ? 1 : x->incl > y->incl ? -1 : 0;
}
static int by_loop_insns(const void *a, const void *b)
{
    const struct flow_loop *x = &sort_p->loops[*(const size_t *)a], *y = &sort_p->loops[*(const size_t *)b];
    return x->insns < y->insns ? 1 : x->insns > y->insns ? -1 : 0;
}
static int by_sys_count(const void *a, const void *b)
{
    const struct flow_sys *x = a, *y = b;
    return x->count < y->count ? 1 : x->count > y->count ? -1 : 0;
}

void flow_report(const struct flow_profile *fp, FILE *f, unsigned top)
{
    for (size_t i = 0; i < fp->nprocs; i++) {
        const struct flow_proc *p = &fp->procs[i];
        sort_p = p;
        fprintf(f, "== %s (pid %" PRIu64 ", %u thread%s)%s%s\n", p->name, p->pid, p->threads, p->threads == 1 ? "" : "s",
                p->path[0] ? " " : "", p->path);
        if (p->nsys) {
            struct flow_sys *s = xmalloc(p->nsys * sizeof *s);
            memcpy(s, p->sys, p->nsys * sizeof *s);
            qsort(s, p->nsys, sizeof *s, by_sys_count);
            fprintf(f, "  system calls          count   kernel insns   mean    errors\n");
            for (size_t k = 0; k < p->nsys && k < top; k++)
                fprintf(f, "    %-16s %10" PRIu64 " %14" PRIu64 " %8.0f %7" PRIu64 "\n", flow_syscall_name(s[k].nr),
                        s[k].count, s[k].kinsns, (double)s[k].kinsns / (double)s[k].count, s[k].errors);
            free(s);
        }
        size_t *ix = xmalloc((p->nfuncs + 1) * sizeof *ix), n = 0;
        for (size_t k = 0; k < p->nfuncs; k++)
            if (p->funcs[k].calls)
                ix[n++] = k;
        qsort(ix, n, sizeof *ix, by_incl);
        if (n)
            fprintf(f, "  functions                         calls      inclusive      exclusive\n");
        for (size_t k = 0; k < n && k < top; k++) {
            const struct flow_func *fn = &p->funcs[ix[k]];
            fprintf(f, "    %-28.28s %10" PRIu64 " %14" PRIu64 " %14" PRIu64 "\n", fn->name, fn->calls, fn->incl,
                    fn->excl);
        }
        free(ix);
        ix = xmalloc((p->nloops + 1) * sizeof *ix);
        for (size_t k = 0; k < p->nloops; k++)
            ix[k] = k;
        qsort(ix, p->nloops, sizeof *ix, by_loop_insns);
        if (p->nloops)
            fprintf(f, "  loops (function, back-edge)       execs     iterations   mean trip   instructions\n");
        for (size_t k = 0; k < p->nloops && k < top; k++) {
            const struct flow_loop *l = &p->loops[ix[k]];
            char where_[64];
            snprintf(where_, sizeof where_, "%s %#" PRIx64, fname(p, l->func), l->pc);
            fprintf(f, "    %-28.28s %10" PRIu64 " %14" PRIu64 " %11.1f %14" PRIu64 "\n", where_, l->execs, l->iters,
                    l->execs ? (double)l->iters / (double)l->execs : 0.0, l->insns);
        }
        free(ix);
    }
}
