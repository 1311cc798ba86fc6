/*
 * flow.c -- ffwd's control-flow plugin (QEMU plugin API v4): per process,
 * the system calls, function calls and loops of the guest's user code.
 *
 *   -plugin libffwd-flow.so,out=PATH[,loops=on|off][,roi=on][,process=roi|TTBR0]
 *
 * What it follows, per guest task (CONTEXTIDR_EL1, written by the kernel at
 * every context switch: CONFIG_PID_IN_CONTEXTIDR, set in Debian's kernel):
 *   - calls (BL, BLR and their pointer-authenticated forms) and returns (RET,
 *     RETAA/RETAB), on a shadow stack: calls, inclusive and exclusive
 *     instructions per function, caller -> callee edges and a calling-context
 *     tree (the flame graph); an indirect jump (BR) or a direct B to an
 *     address this task has called before is a tail call;
 *   - system calls (SVC #0, number in x8): count, and the kernel
 *     instructions the task executed from the call to its return to user
 *     mode (other tasks' instructions in between are not counted), in a
 *     log2 histogram;
 *   - loops (loops=on): every backward branch is a loop; an execution of it
 *     ends when the branch falls through, when control reaches another
 *     loop's back-edge outside its body in the same function, or when that
 *     function returns; trip counts in a log2 histogram;
 *   - per process image (one per execve): its name and path, the auxiliary
 *     vector the kernel passed (AT_ENTRY, AT_BASE, AT_PHDR: where the program
 *     and its dynamic linker were loaded) and every executable file mapping
 *     (openat + mmap with PROT_EXEC), so that `ffwd flow` names addresses
 *     from the ELF symbols of the files.
 *
 * Instructions are counted exactly, per retired user instruction, with the
 * count filter.h keeps (a faulting instruction, executed again after its
 * handler, is counted once): a block left early by an exception or an
 * interrupt counts only what ran.
 *
 * Cost: per instruction one inline add (user: filter.h's counter; kernel:
 * this plugin's); per user block one inline compare; per call, return,
 * indirect jump and loop back-edge one inline store and, at the next user
 * block of the task, one callback (the "event"). The event's block is the
 * callee, the return target, the loop's next iteration or its exit.
 *
 * One subtlety: QEMU keys AArch64 blocks by physical address (CF_PCREL), so a
 * block translated in one process also runs in another that maps the same
 * file page at another address (a shared library), and the address the
 * block was translated at is then not the one it runs at. Each block keeps
 * the address space it was translated in (a generation per TTBR0 value); an
 * event in a block of another address space reads the real PC (and, for a
 * call, LR) instead of trusting the translation's address.
 *
 * Output (at exit, written to PATH.tmp and renamed): the text format read by
 * flow/flow.c (docs/flow.md).
 */
#include <glib.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "filter.h"
#include "qemu-plugin-api.h"

QEMU_PLUGIN_EXPORT int qemu_plugin_version = FFWD_QEMU_PLUGIN_API_VERSION;

#define NBINS 48              /* log2 histograms: bin b holds values in [2^(b-1), 2^b) */
#define MAX_CCT_DEPTH 200     /* deeper calls share the node of depth 200 (their functions stay exact) */
#define FRAME_SEARCH 4096     /* a return looks this far down the shadow stack for its frame */
#define MAX_SYSNR 4095         /* x8 is the guest's: larger numbers share this slot */
#define NR_EXECVE 221
#define NR_EXECVEAT 281
#define NR_OPENAT 56
#define NR_CLOSE 57
#define NR_MMAP 222
#define PROT_EXEC_ 4
#define CLONE_VM_ 0x100ULL
/* auxiliary vector entries (include/uapi/linux/auxvec.h) */
#define AT_NULL_ 0
#define AT_PHDR_ 3
#define AT_BASE_ 7
#define AT_ENTRY_ 9

/* EV_PLT: `br x16|x17` ending a short block that starts with ADRP -- a PLT stub
 * or a linker veneer (AAPCS64 keeps x16/x17, IP0/IP1, for them): always a
 * jump into a function, so a tail call of the stub's frame */
enum { EV_NONE, EV_CALL, EV_RET, EV_JUMP, EV_TAIL, EV_LOOP, EV_SVC, EV_PLT };

/* A translated user block: where and in which address space it was translated,
 * and the control transfer that ends it. */
struct tbr {
    uint64_t va, bpc, target; /* block start; its last instruction; a direct branch's target */
    uint32_t gen;
    uint8_t kind;
};

/* ---- a small open-addressing hash: (a, b) -> index ---- */
struct h2 {
    uint64_t *ka, *kb;
    uint32_t *val;
    size_t cap, n;
};

static uint64_t h2_mix(uint64_t a, uint64_t b)
{
    uint64_t h = a * 0x9e3779b97f4a7c15ULL ^ (b + 0x632be59bd9b4e019ULL) * 0xc2b2ae3d27d4eb4fULL;
    return h ^ (h >> 29);
}

static uint32_t *h2_slot(struct h2 *h, uint64_t a, uint64_t b, bool *fresh)
{
    if (2 * (h->n + 1) > h->cap) {
        struct h2 o = *h;
        h->cap = o.cap ? 2 * o.cap : 64;
        h->ka = g_new0(uint64_t, h->cap), h->kb = g_new0(uint64_t, h->cap), h->val = g_new(uint32_t, h->cap);
        memset(h->val, 0xff, h->cap * sizeof *h->val);
        h->n = 0;
        for (size_t i = 0; i < o.cap; i++)
            if (o.val[i] != UINT32_MAX) {
                bool f;
                *h2_slot(h, o.ka[i], o.kb[i], &f) = o.val[i];
            }
        g_free(o.ka), g_free(o.kb), g_free(o.val);
    }
    for (size_t i = h2_mix(a, b) & (h->cap - 1);; i = (i + 1) & (h->cap - 1)) {
        if (h->val[i] == UINT32_MAX) {
            h->ka[i] = a, h->kb[i] = b;
            h->n++;
            *fresh = true;
            return &h->val[i];
        }
        if (h->ka[i] == a && h->kb[i] == b) {
            *fresh = false;
            return &h->val[i];
        }
    }
}


/* ---- per process image and per task ---- */
struct map {
    uint64_t start, len, off;
    char *path;
};

struct image {
    unsigned id, parent;
    uint64_t pid;
    char *name, *path;
    uint64_t at_entry, at_base, at_phdr;
    GArray *maps;     /* struct map, under mu */
    GHashTable *fds;  /* fd -> path, under mu */
    pthread_mutex_t mu;
};

struct func {
    uint64_t entry, calls, incl, excl, tails;
    uint32_t active; /* activations on the stack: inclusive counts at the outermost */
};

struct node { /* calling-context tree */
    uint32_t parent, func;
    uint64_t calls, excl;
};

struct edge {
    uint32_t caller, callee;
    uint64_t calls;
};

struct loop {
    uint64_t pc, target, execs, iters, insns;
    uint64_t hist[NBINS];
};

struct sysc {
    uint64_t count, kinsns, errors;
    uint64_t hist[NBINS];
};

/* The statistics of one task in one image (a new one at each execve). */
struct trec {
    unsigned id;
    uint64_t tid;
    struct image *img;
    GArray *funcs, *nodes, *edges, *loops; /* struct func / node / edge / loop */
    struct h2 func_ix, node_ix, edge_ix, loop_ix;
    struct sysc *sys;
    size_t nsys;
    uint64_t unmatched_rets, slow_events, exits;
    bool seen; /* recorded something inside the filters */
};

struct frame {
    uint64_t ret, u0, child;
    uint32_t func, node;
};

struct run {
    uint64_t pc, target, n, u_first;
    size_t depth;
};

struct task {
    uint64_t tid;
    struct trec *rec; /* NULL: not known yet (its first user block says) */
    bool dead;
    uint64_t uacc, kacc, umark, kmark, pend;
    struct frame *f;
    size_t nf, cf;
    struct run *r;
    size_t nr, cr;
    /* a system call in progress */
    uint64_t sc_nr, sc_a0, sc_a1, sc_a2, sc_a4, sc_a5, sc_k0, sc_pc;
    char *sc_path;
};

/* a clone whose child has not run yet */
struct pclone {
    uint64_t parent_tid, flags, ret_off;
    struct image *img;
};

static struct {
    char *out;
    bool loops;
    struct qemu_plugin_scoreboard *score;
    qemu_plugin_u64 k, pend;
    struct task *cur[FF_MAX_VCPUS];
    uint32_t gen[FF_MAX_VCPUS];
    pthread_mutex_t mu; /* tasks, images, trecs, gens, clones */
    GHashTable *tasks;  /* tid -> struct task * (live) */
    GPtrArray *all_tasks, *images, *trecs;
    GHashTable *gens;    /* TTBR0 base -> generation */
    GHashTable *entries; /* every address some task called (a forward B there is a tail call) */
    uint32_t next_gen;
    GArray *clones;
    struct qemu_plugin_register *pc_reg, *sp_reg, *ttbr0_reg;
    GPtrArray *tbrs; /* chunks of struct tbr */
    size_t tbr_used;
    uint64_t events, slow;
} fl = {.loops = true, .mu = PTHREAD_MUTEX_INITIALIZER};

static uint64_t now_u(unsigned v) { return ff_counted(v); }
static uint64_t task_u(struct task *t, unsigned v) { return t->uacc + (now_u(v) - t->umark); }
static uint64_t task_k(struct task *t, unsigned v) { return t->kacc + (qemu_plugin_u64_get(fl.k, v) - t->kmark); }

static unsigned log2bin(uint64_t x)
{
    unsigned b = 0;
    while (x && b < NBINS - 1)
        x >>= 1, b++;
    return b;
}

/* ---- images ---- */

static struct image *image_new(uint64_t pid, const char *name, const char *path, struct image *from)
{
    struct image *im = g_new0(struct image, 1);
    pthread_mutex_init(&im->mu, NULL);
    im->pid = pid;
    im->name = g_strdup(name);
    im->path = g_strdup(path);
    im->maps = g_array_new(FALSE, FALSE, sizeof(struct map));
    im->fds = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, g_free);
    if (from) { /* fork: a copy of the parent's address space and files */
        im->parent = from->id;
        im->at_entry = from->at_entry, im->at_base = from->at_base, im->at_phdr = from->at_phdr;
        pthread_mutex_lock(&from->mu);
        for (guint i = 0; i < from->maps->len; i++) {
            struct map m = g_array_index(from->maps, struct map, i);
            m.path = g_strdup(m.path);
            g_array_append_val(im->maps, m);
        }
        GHashTableIter it;
        gpointer k, val;
        g_hash_table_iter_init(&it, from->fds);
        while (g_hash_table_iter_next(&it, &k, &val)) {
            gint64 *kk = g_new(gint64, 1);
            *kk = *(gint64 *)k;
            g_hash_table_insert(im->fds, kk, g_strdup(val));
        }
        pthread_mutex_unlock(&from->mu);
    }
    im->id = fl.images->len + 1;
    g_ptr_array_add(fl.images, im); /* under fl.mu */
    return im;
}

static struct trec *trec_new(uint64_t tid, struct image *im)
{
    struct trec *r = g_new0(struct trec, 1);
    r->tid = tid;
    r->img = im;
    r->funcs = g_array_new(FALSE, TRUE, sizeof(struct func));
    r->nodes = g_array_new(FALSE, TRUE, sizeof(struct node));
    r->edges = g_array_new(FALSE, TRUE, sizeof(struct edge));
    r->loops = g_array_new(FALSE, TRUE, sizeof(struct loop));
    struct func root_f = {0};
    struct node root = {UINT32_MAX, 0, 0, 0};
    g_array_append_val(r->funcs, root_f); /* function 0: the root, "(outside any call)" */
    g_array_append_val(r->nodes, root);
    r->id = fl.trecs->len + 1;
    g_ptr_array_add(fl.trecs, r); /* under fl.mu */
    return r;
}

/* ---- the shadow stack ---- */

static uint32_t func_of(struct trec *r, uint64_t entry)
{
    bool fresh;
    uint32_t *s = h2_slot(&r->func_ix, entry, 0, &fresh);
    if (fresh) {
        struct func f = {.entry = entry};
        *s = r->funcs->len;
        g_array_append_val(r->funcs, f);
    }
    if (!g_array_index(r->funcs, struct func, *s).calls) { /* a new function of this task */
        pthread_mutex_lock(&fl.mu);
        if (!g_hash_table_contains(fl.entries, &entry)) {
            uint64_t *k = g_new(uint64_t, 1);
            *k = entry;
            g_hash_table_add(fl.entries, k);
        }
        pthread_mutex_unlock(&fl.mu);
    }
    return *s;
}

static uint32_t node_of(struct trec *r, uint32_t parent, uint32_t func, size_t depth)
{
    if (depth >= MAX_CCT_DEPTH)
        return parent;
    bool fresh;
    uint32_t *s = h2_slot(&r->node_ix, parent, func, &fresh);
    if (fresh) {
        struct node n = {.parent = parent, .func = func};
        *s = r->nodes->len;
        g_array_append_val(r->nodes, n);
    }
    return *s;
}

static void edge_add(struct trec *r, uint32_t caller, uint32_t callee)
{
    bool fresh;
    uint32_t *s = h2_slot(&r->edge_ix, caller, callee, &fresh);
    if (fresh) {
        struct edge e = {caller, callee, 0};
        *s = r->edges->len;
        g_array_append_val(r->edges, e);
    }
    g_array_index(r->edges, struct edge, *s).calls++;
}

static void push(struct task *t, uint64_t entry, uint64_t ret, uint64_t u, bool tail)
{
    struct trec *r = t->rec;
    uint32_t fi = func_of(r, entry);
    uint32_t caller_node = t->nf ? t->f[t->nf - 1].node : 0, caller_func = t->nf ? t->f[t->nf - 1].func : 0;
    if (t->nf == t->cf) {
        t->cf = t->cf ? 2 * t->cf : 64;
        t->f = g_renew(struct frame, t->f, t->cf);
    }
    struct frame *f = &t->f[t->nf++];
    f->ret = ret, f->u0 = u, f->child = 0, f->func = fi;
    f->node = node_of(r, caller_node, fi, t->nf);
    struct func *fn = &g_array_index(r->funcs, struct func, fi);
    fn->calls++, fn->active++;
    if (tail)
        fn->tails++;
    g_array_index(r->nodes, struct node, f->node).calls++;
    edge_add(r, caller_func, fi);
}

/* Loop executions of frames deeper than `depth` end now. */
static void runs_end_below(struct task *t, size_t depth, uint64_t u);

static void pop(struct task *t, uint64_t u)
{
    struct trec *r = t->rec;
    struct frame *f = &t->f[--t->nf];
    uint64_t dur = u - f->u0;
    struct func *fn = &g_array_index(r->funcs, struct func, f->func);
    fn->excl += dur - f->child;
    if (--fn->active == 0)
        fn->incl += dur;
    g_array_index(r->nodes, struct node, f->node).excl += dur - f->child;
    if (t->nf)
        t->f[t->nf - 1].child += dur;
    runs_end_below(t, t->nf, u);
}

static void on_call(struct task *t, uint64_t entry, uint64_t ret, uint64_t u) { push(t, entry, ret, u, false); }

static void on_tail(struct task *t, uint64_t target, uint64_t u, bool sure)
{
    if (!t->nf)
        return;
    if (sure) {
        uint64_t ret = t->f[t->nf - 1].ret;
        pop(t, u);
        push(t, target, ret, u, true);
        return;
    }
    bool fresh;
    uint32_t *s = h2_slot(&t->rec->func_ix, target, 0, &fresh);
    if (fresh) { /* not a function this task has called: a jump inside one */
        *s = t->rec->funcs->len;
        struct func f = {.entry = target};
        g_array_append_val(t->rec->funcs, f);
        return;
    }
    if (!g_array_index(t->rec->funcs, struct func, *s).calls)
        return;
    uint64_t ret = t->f[t->nf - 1].ret;
    pop(t, u);
    push(t, target, ret, u, true);
}

static void on_ret(struct task *t, uint64_t target, uint64_t u)
{
    size_t lim = t->nf > FRAME_SEARCH ? t->nf - FRAME_SEARCH : 0;
    for (size_t i = t->nf; i-- > lim;)
        if (t->f[i].ret == target) {
            while (t->nf > i)
                pop(t, u);
            return;
        }
    t->rec->unmatched_rets++; /* a return to a frame entered before we looked */
}

/* ---- loops ---- */

static void loop_record(struct task *t, uint64_t pc, uint64_t target, uint64_t n, uint64_t insns)
{
    struct trec *r = t->rec;
    bool fresh;
    uint32_t *s = h2_slot(&r->loop_ix, pc, 0, &fresh);
    if (fresh) {
        struct loop l = {.pc = pc, .target = target};
        *s = r->loops->len;
        g_array_append_val(r->loops, l);
    }
    struct loop *l = &g_array_index(r->loops, struct loop, *s);
    l->execs++;
    l->iters += n;
    l->insns += insns;
    l->hist[log2bin(n)]++;
}

/* End execution i: its first iteration (before the first back-edge we see)
 * is estimated as the mean of the others when there are two or more, else
 * as the body's static length. */
static void run_end(struct task *t, size_t i, uint64_t u)
{
    struct run *x = &t->r[i];
    uint64_t body = (x->pc - x->target) / 4 + 1;
    uint64_t ins = x->n > 2 ? (u - x->u_first) + (u - x->u_first) / (x->n - 1) : (u - x->u_first) + body;
    loop_record(t, x->pc, x->target, x->n, ins);
    t->r[i] = t->r[--t->nr];
}

static void runs_end_below(struct task *t, size_t depth, uint64_t u)
{
    for (size_t i = t->nr; i-- > 0;)
        if (t->r[i].depth > depth)
            run_end(t, i, u);
}

static void on_loop(struct task *t, uint64_t pc, uint64_t target, bool taken, uint64_t u)
{
    size_t d = t->nf;
    runs_end_below(t, d, u);
    struct run *mine = NULL;
    for (size_t i = t->nr; i-- > 0;) {
        struct run *x = &t->r[i];
        if (x->depth != d)
            continue;
        if (x->pc == pc)
            mine = x;
        else if (pc < x->target || pc > x->pc) { /* control left that loop's body */
            run_end(t, i, u);
            mine = NULL; /* indices moved: look again below */
        }
    }
    if (!mine)
        for (size_t i = 0; i < t->nr; i++)
            if (t->r[i].depth == d && t->r[i].pc == pc)
                mine = &t->r[i];
    if (taken) {
        if (mine) {
            mine->n++;
            return;
        }
        if (t->nr == t->cr) {
            t->cr = t->cr ? 2 * t->cr : 16;
            t->r = g_renew(struct run, t->r, t->cr);
        }
        t->r[t->nr++] = (struct run){.pc = pc, .target = target, .n = 2, .u_first = u, .depth = d};
        return;
    }
    if (mine)
        run_end(t, (size_t)(mine - t->r), u);
    else
        loop_record(t, pc, target, 1, (pc - target) / 4 + 1);
}

/* ---- guest memory and registers ---- */

static uint64_t reg64(struct qemu_plugin_register *h) { return ff_reg(h); }

static bool read_mem(uint64_t va, void *dst, size_t n)
{
    GByteArray *b = g_byte_array_sized_new(n);
    bool ok = qemu_plugin_read_memory_vaddr(va, b, n) && b->len >= n;
    if (ok)
        memcpy(dst, b->data, n);
    g_byte_array_free(b, TRUE);
    return ok;
}

static char *read_str(uint64_t va)
{
    GString *s = g_string_new(NULL);
    char buf[64];
    while (s->len < 4096) {
        /* do not cross into a page that may not be mapped */
        size_t n = 64 - (va & 63);
        if (!read_mem(va, buf, n))
            break;
        void *z = memchr(buf, 0, n);
        g_string_append_len(s, buf, z ? (char *)z - buf : (gssize)n);
        if (z)
            return g_string_free(s, FALSE);
        va += n;
    }
    return g_string_free(s, !s->len);
}

/* At the first user instruction of a new program: its auxiliary vector, above
 * argc, argv[] and envp[] on the stack. */
static void read_auxv(struct image *im)
{
    uint64_t sp = reg64(fl.sp_reg), argc;
    if (!sp || !read_mem(sp, &argc, 8) || argc > 100000)
        return;
    uint64_t p = sp + 8 * (argc + 2), w;
    for (int guard = 0; guard < 100000 && read_mem(p, &w, 8) && w; guard++)
        p += 8;
    p += 8;
    for (int guard = 0; guard < 256; guard++, p += 16) {
        uint64_t kv[2];
        if (!read_mem(p, kv, 16) || kv[0] == AT_NULL_)
            break;
        if (kv[0] == AT_PHDR_)
            im->at_phdr = kv[1];
        else if (kv[0] == AT_BASE_)
            im->at_base = kv[1];
        else if (kv[0] == AT_ENTRY_)
            im->at_entry = kv[1];
    }
}

/* ---- address-space generations ---- */

static uint32_t gen_of(uint64_t ttbr0) /* under fl.mu */
{
    uint64_t key = ttbr0 & FF_TTBR_BADDR;
    gpointer g = g_hash_table_lookup(fl.gens, &key);
    if (g)
        return (uint32_t)(uintptr_t)g;
    uint64_t *k = g_new(uint64_t, 1);
    *k = key;
    uint32_t n = ++fl.next_gen;
    g_hash_table_insert(fl.gens, k, (gpointer)(uintptr_t)n);
    return n;
}

/* The address space behind TTBR0 is gone (exit, execve): the next one there is new. */
static void gen_forget(uint64_t ttbr0)
{
    uint64_t key = ttbr0 & FF_TTBR_BADDR;
    pthread_mutex_lock(&fl.mu);
    g_hash_table_remove(fl.gens, &key);
    pthread_mutex_unlock(&fl.mu);
}

static void cb_ttbr0(unsigned v, void *udata)
{
    if (v >= FF_MAX_VCPUS)
        return;
    uint64_t t = ff_xreg((unsigned)(uintptr_t)udata);
    pthread_mutex_lock(&fl.mu);
    fl.gen[v] = gen_of(t);
    pthread_mutex_unlock(&fl.mu);
}

/* ---- tasks ---- */

static struct task *task_get(uint64_t tid) /* under fl.mu */
{
    struct task *t = g_hash_table_lookup(fl.tasks, &tid);
    if (t)
        return t;
    t = g_new0(struct task, 1);
    t->tid = tid;
    t->pend = EV_NONE; /* its first user block decides its image (cb_event, !rec) */
    uint64_t *k = g_new(uint64_t, 1);
    *k = tid;
    g_hash_table_insert(fl.tasks, k, t);
    g_ptr_array_add(fl.all_tasks, t);
    return t;
}

static void task_forget(struct task *t) /* under fl.mu */
{
    t->dead = true;
    if (g_hash_table_lookup(fl.tasks, &t->tid) == t)
        g_hash_table_remove(fl.tasks, &t->tid);
}

static void task_flush(struct task *t, uint64_t u)
{
    if (!t->rec)
        return;
    while (t->nf)
        pop(t, u);
    while (t->nr)
        run_end(t, t->nr - 1, u);
}

/* The kernel switches tasks on vCPU v: `msr contextidr_el1, Xt`. */
static void cb_switch(unsigned v, void *udata)
{
    if (v >= FF_MAX_VCPUS)
        return;
    uint64_t tid = ff_xreg((unsigned)(uintptr_t)udata) & 0xffffffffu;
    uint64_t u = now_u(v), k = qemu_plugin_u64_get(fl.k, v);
    struct task *old = fl.cur[v];
    if (old && old->tid == tid)
        return;
    if (old) {
        old->uacc += u - old->umark, old->kacc += k - old->kmark;
        old->pend = qemu_plugin_u64_get(fl.pend, v);
    }
    pthread_mutex_lock(&fl.mu);
    struct task *t = task_get(tid);
    pthread_mutex_unlock(&fl.mu);
    t->umark = u, t->kmark = k;
    fl.cur[v] = t;
    qemu_plugin_u64_set(fl.pend, v, t->pend ? t->pend : (t->rec ? 0 : 1));
    t->pend = 0;
}

/* A task's first user block: which process is it? A clone's child returns
 * to the instruction after the parent's `svc`; anything else (init, tasks
 * older than the plugin) gets an image of its own, named by its id. */
static void task_first(struct task *t, uint64_t va)
{
    pthread_mutex_lock(&fl.mu);
    struct image *im = NULL;
    for (guint i = 0; i < fl.clones->len; i++) {
        struct pclone *c = &g_array_index(fl.clones, struct pclone, i);
        if (c->parent_tid != t->tid && c->ret_off == (va & 0xfff)) {
            im = (c->flags & CLONE_VM_) ? c->img : image_new(t->tid, c->img->name, c->img->path, c->img);
            g_array_remove_index(fl.clones, i);
            break;
        }
    }
    if (!im) {
        char name[32];
        snprintf(name, sizeof name, "task-%llu", (unsigned long long)t->tid);
        im = image_new(t->tid, name, "", NULL);
    }
    t->rec = trec_new(t->tid, im);
    pthread_mutex_unlock(&fl.mu);
}

/* ---- system calls ---- */

/* The record's counters of system call nr (grown on demand, bounded). */
static struct sysc *sys_slot(struct trec *r, uint64_t nr)
{
    if (nr > MAX_SYSNR)
        nr = MAX_SYSNR;
    if (nr >= r->nsys) {
        size_t n = nr + 1;
        r->sys = g_renew(struct sysc, r->sys, n);
        memset(r->sys + r->nsys, 0, (n - r->nsys) * sizeof *r->sys);
        r->nsys = n;
    }
    return &r->sys[nr];
}

static void cb_svc(unsigned v, void *udata)
{
    if (v >= FF_MAX_VCPUS)
        return;
    struct task *t = fl.cur[v];
    if (!t || !t->rec)
        return;
    t->sc_nr = ff_xreg(8);
    t->sc_a0 = ff_xreg(0), t->sc_a1 = ff_xreg(1), t->sc_a2 = ff_xreg(2);
    t->sc_a4 = ff_xreg(4), t->sc_a5 = ff_xreg(5);
    t->sc_k0 = task_k(t, v);
    t->sc_pc = ((struct tbr *)udata)->bpc;
    g_free(t->sc_path);
    t->sc_path = NULL;
    if (t->sc_nr == NR_EXECVE)
        t->sc_path = read_str(t->sc_a0);
    else if (t->sc_nr == NR_EXECVEAT || t->sc_nr == NR_OPENAT)
        t->sc_path = read_str(t->sc_a1);
    else if (t->sc_nr == FF_NR_CLONE || t->sc_nr == FF_NR_CLONE3) {
        /* clone3's flags are the first word of its argument structure */
        uint64_t flags = t->sc_a0;
        if (t->sc_nr == FF_NR_CLONE3 && !read_mem(t->sc_a0, &flags, 8))
            flags = 0;
        struct pclone c = {.parent_tid = t->tid, .flags = flags, .ret_off = (t->sc_pc + 4) & 0xfff,
                           .img = t->rec->img};
        pthread_mutex_lock(&fl.mu);
        g_array_append_val(fl.clones, c);
        pthread_mutex_unlock(&fl.mu);
    } else if (t->sc_nr == FF_NR_EXIT || t->sc_nr == FF_NR_EXIT_GROUP) {
        /* never returns: counted now, and the task (or its whole group) ends */
        struct trec *r = t->rec;
        if (!ff_dynamic() || ff_block_counts(v)) {
            struct sysc *sc = sys_slot(r, t->sc_nr);
            sc->count++;
            sc->hist[0]++;
            r->seen = true;
        }
        r->exits++;
        uint64_t u = task_u(t, v);
        task_flush(t, u);
        pthread_mutex_lock(&fl.mu);
        if (t->sc_nr == FF_NR_EXIT_GROUP) {
            for (guint i = 0; i < fl.all_tasks->len; i++) {
                struct task *o = g_ptr_array_index(fl.all_tasks, i);
                if (o == t || o->dead || !o->rec || o->rec->img != r->img)
                    continue;
                bool running = false;
                for (int c = 0; c < FF_MAX_VCPUS && c < qemu_plugin_num_vcpus(); c++)
                    running |= fl.cur[c] == o;
                if (!running) { /* killed with the group: what it was in ends where it stopped */
                    task_flush(o, o->uacc);
                    task_forget(o);
                }
            }
        }
        task_forget(t);
        pthread_mutex_unlock(&fl.mu);
        if (fl.ttbr0_reg && t->sc_nr == FF_NR_EXIT_GROUP)
            gen_forget(reg64(fl.ttbr0_reg));
        return;
    }
    qemu_plugin_u64_set(fl.pend, v, (uint64_t)(uintptr_t)udata);
}

/* The task returns to user mode at va after its system call. */
static void on_sysret(struct task *t, unsigned v, const struct tbr *b, uint64_t va, bool in)
{
    struct trec *r = t->rec;
    uint64_t nr = t->sc_nr, dur = task_k(t, v) - t->sc_k0;
    int64_t ret = (int64_t)ff_xreg(0);
    struct sysc *s = sys_slot(r, nr);
    /* back at the instruction after the `svc` (a page offset: the block may run elsewhere) */
    bool back = ((va - (b->bpc + 4)) & 0xfff) == 0;
    if (in) {
        s->count++;
        s->kinsns += dur;
        s->hist[log2bin(dur)]++;
        if (back && ret < 0 && ret > -4096)
            s->errors++;
        r->seen = true;
    }
    struct image *im = r->img;
    if ((nr == NR_EXECVE || nr == NR_EXECVEAT) && !back) {
        /* a new program: a new image and a new record; the old stack is gone */
        uint64_t u = task_u(t, v);
        task_flush(t, u);
        const char *path = t->sc_path ? t->sc_path : "";
        if (!strcmp(path, "/proc/self/exe")) /* a program running itself again (busybox's applets) */
            path = im->path;
        const char *slash = strrchr(path, '/');
        pthread_mutex_lock(&fl.mu);
        struct image *ni = image_new(im->pid, slash ? slash + 1 : path, path, NULL);
        ni->parent = im->id;
        t->rec = trec_new(t->tid, ni);
        pthread_mutex_unlock(&fl.mu);
        read_auxv(ni);
        return;
    }
    if (!back)
        return;
    if (nr == NR_OPENAT && ret >= 0 && t->sc_path) {
        gint64 *k = g_new(gint64, 1);
        *k = ret;
        pthread_mutex_lock(&im->mu);
        g_hash_table_insert(im->fds, k, t->sc_path);
        pthread_mutex_unlock(&im->mu);
        t->sc_path = NULL;
    } else if (nr == NR_CLOSE && ret == 0) {
        gint64 k = (gint64)t->sc_a0;
        pthread_mutex_lock(&im->mu);
        g_hash_table_remove(im->fds, &k);
        pthread_mutex_unlock(&im->mu);
    } else if (nr == NR_MMAP && ret > 0 && (t->sc_a2 & PROT_EXEC_) && (int64_t)t->sc_a4 >= 0) {
        gint64 k = (gint64)t->sc_a4;
        pthread_mutex_lock(&im->mu);
        const char *p = g_hash_table_lookup(im->fds, &k);
        if (p) {
            struct map m = {(uint64_t)ret, t->sc_a1, t->sc_a5, g_strdup(p)};
            g_array_append_val(im->maps, m);
        }
        pthread_mutex_unlock(&im->mu);
    }
    /* a clone's child takes its pending clone at its first block (task_first) */
}

/* ---- the event: at the first user block after a call, return, jump, loop
 * back-edge or system call of the task ---- */

static void cb_event(unsigned v, void *udata)
{
    if (v >= FF_MAX_VCPUS)
        return;
    const struct tbr *e = udata;
    uint64_t p = qemu_plugin_u64_get(fl.pend, v);
    qemu_plugin_u64_set(fl.pend, v, 0);
    struct task *t = fl.cur[v];
    if (!t || t->dead)
        return;
    uint32_t g = fl.gen[v];
    uint64_t va = e->va;
    bool slow = false;
    if (e->gen != g) {
        va = reg64(fl.pc_reg);
        slow = true;
    }
    if (!t->rec) {
        task_first(t, va);
        return;
    }
    if (p <= 1) /* 1: a new task's first block, handled above */
        return;
    const struct tbr *b = (const struct tbr *)(uintptr_t)p;
    bool in = !ff_dynamic() || ff_block_counts(v);
    if (b->kind == EV_SVC) { /* always: it keeps the process's files and images right */
        on_sysret(t, v, b, va, in);
        return;
    }
    if (!in)
        return;
    uint64_t u = task_u(t, v);
    fl.events++;
    t->rec->seen = true;
    /* the branch's own address: from its block when that block was translated
     * in this address space, else from what the real PC says */
    bool bstale = b->gen != g;
    if (bstale || slow)
        t->rec->slow_events++;
    switch (b->kind) {
    case EV_CALL:
        on_call(t, va, bstale ? reg64(ff.xreg[30]) : b->bpc + 4, u);
        break;
    case EV_RET: on_ret(t, va, u); break;
    case EV_JUMP:
    case EV_TAIL: on_tail(t, va, u, false); break;
    case EV_PLT: on_tail(t, va, u, true); break;
    case EV_LOOP: {
        uint64_t bpc = b->bpc, target = b->target;
        bool taken;
        if (!bstale)
            taken = va != bpc + 4;
        else {
            taken = ((va - target) & 0xfff) == 0 && ((va - (bpc + 4)) & 0xfff) != 0;
            uint64_t delta = taken ? va - target : va - (bpc + 4);
            bpc += delta, target += delta;
        }
        on_loop(t, bpc, target, taken, u);
        break;
    }
    }
}

/* ---- translation ---- */

static struct tbr *tbr_new(void) /* under fl.mu */
{
    enum { CHUNK = 4096 };
    if (!fl.tbrs->len || fl.tbr_used == CHUNK) {
        g_ptr_array_add(fl.tbrs, g_new0(struct tbr, CHUNK));
        fl.tbr_used = 0;
    }
    return &((struct tbr *)g_ptr_array_index(fl.tbrs, fl.tbrs->len - 1))[fl.tbr_used++];
}

static int64_t sext(uint64_t x, unsigned bits) { return (int64_t)(x << (64 - bits)) >> (64 - bits); }

/* What the block's last instruction does to control flow (A64 encodings). */
static uint8_t classify(uint32_t w, uint64_t pc, uint64_t *target)
{
    *target = 0;
    if ((w & 0xfc000000u) == 0x94000000u) /* BL */
        return EV_CALL;
    if ((w & 0xfe000000u) == 0xd6000000u && ((w >> 16) & 0x1f) == 0x1f) {
        unsigned opc = (w >> 21) & 0xf;
        if (opc == 1 || opc == 9) /* BLR, BLRAA, BLRAB, BLRAAZ, BLRABZ */
            return EV_CALL;
        if (opc == 2) /* RET, RETAA, RETAB */
            return EV_RET;
        if (opc == 0 || opc == 8) /* BR, BRAA, ... */
            return EV_JUMP;
        return EV_NONE;
    }
    if (w == FF_SVC0)
        return EV_SVC;
    int64_t off;
    if ((w & 0xfc000000u) == 0x14000000u) /* B */
        off = sext(w & 0x3ffffff, 26) * 4;
    else if ((w & 0xff000010u) == 0x54000000u || (w & 0x7e000000u) == 0x34000000u) /* B.cond, CBZ/CBNZ */
        off = sext((w >> 5) & 0x7ffff, 19) * 4;
    else if ((w & 0x7e000000u) == 0x36000000u) /* TBZ/TBNZ */
        off = sext((w >> 5) & 0x3fff, 14) * 4;
    else
        return EV_NONE;
    *target = pc + (uint64_t)off;
    if (off <= 0)
        return fl.loops ? EV_LOOP : EV_NONE;
    return (w & 0xfc000000u) == 0x14000000u ? EV_TAIL : EV_NONE; /* a forward B may be a tail call */
}

static void tb_trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
    (void)id;
    bool user = ff_tb_trans(tb); /* the exact user count, and the region's callbacks */
    size_t n = qemu_plugin_tb_n_insns(tb);
    if (!n)
        return;
    if (!user) {
        for (size_t i = 0; i < n; i++) {
            struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
            qemu_plugin_register_vcpu_insn_exec_inline_per_vcpu(insn, QEMU_PLUGIN_INLINE_ADD_U64, fl.k, 1);
            uint32_t w = 0;
            if (qemu_plugin_insn_data(insn, &w, 4) != 4)
                continue;
            if ((w & FF_MSR_MASK) == FF_MSR_CONTEXTIDR_EL1)
                qemu_plugin_register_vcpu_insn_exec_cb(insn, cb_switch, QEMU_PLUGIN_CB_R_REGS,
                                                       (void *)(uintptr_t)(w & 31u));
            else if ((w & FF_MSR_MASK) == FF_MSR_TTBR0_EL1)
                qemu_plugin_register_vcpu_insn_exec_cb(insn, cb_ttbr0, QEMU_PLUGIN_CB_R_REGS,
                                                       (void *)(uintptr_t)(w & 31u));
        }
        return;
    }
    uint64_t ttbr0 = fl.ttbr0_reg ? reg64(fl.ttbr0_reg) : 0;
    pthread_mutex_lock(&fl.mu);
    struct tbr *r = tbr_new();
    r->gen = gen_of(ttbr0);
    pthread_mutex_unlock(&fl.mu);
    r->va = qemu_plugin_tb_vaddr(tb);
    struct qemu_plugin_insn *last = qemu_plugin_tb_get_insn(tb, n - 1);
    uint32_t w = 0;
    r->bpc = qemu_plugin_insn_vaddr(last);
    if (qemu_plugin_insn_data(last, &w, 4) == 4)
        r->kind = classify(w, r->bpc, &r->target);
    uint32_t w0 = 0;
    if (r->kind == EV_JUMP && n <= 4 && ((w >> 5) & 31) >= 16 && ((w >> 5) & 31) <= 17 &&
        qemu_plugin_insn_data(qemu_plugin_tb_get_insn(tb, 0), &w0, 4) == 4 && (w0 & 0x9f000000u) == 0x90000000u)
        r->kind = EV_PLT;
    if (r->kind == EV_TAIL) { /* a forward B: a tail call only to a function called before */
        pthread_mutex_lock(&fl.mu);
        if (!g_hash_table_contains(fl.entries, &r->target))
            r->kind = EV_NONE;
        pthread_mutex_unlock(&fl.mu);
    }
    qemu_plugin_register_vcpu_tb_exec_cond_cb(tb, cb_event, QEMU_PLUGIN_CB_R_REGS, QEMU_PLUGIN_COND_NE, fl.pend, 0,
                                              r);
    if (r->kind == EV_SVC)
        qemu_plugin_register_vcpu_insn_exec_cb(last, cb_svc, QEMU_PLUGIN_CB_R_REGS, r);
    else if (r->kind != EV_NONE)
        qemu_plugin_register_vcpu_insn_exec_inline_per_vcpu(last, QEMU_PLUGIN_INLINE_STORE_U64, fl.pend,
                                                            (uint64_t)(uintptr_t)r);
}

static void vcpu_init(qemu_plugin_id_t id, unsigned int v)
{
    (void)id, (void)v;
    ff_vcpu_init();
    if (fl.pc_reg)
        return;
    GArray *regs = qemu_plugin_get_registers();
    for (guint i = 0; regs && i < regs->len; i++) {
        qemu_plugin_reg_descriptor *d = &g_array_index(regs, qemu_plugin_reg_descriptor, i);
        if (!d->name)
            continue;
        if (!strcmp(d->name, "pc"))
            fl.pc_reg = d->handle;
        else if (!strcmp(d->name, "sp"))
            fl.sp_reg = d->handle;
        else if (!strcmp(d->name, "TTBR0_EL1"))
            fl.ttbr0_reg = d->handle;
    }
    if (regs)
        g_array_free(regs, TRUE);
    if (!fl.pc_reg || !fl.sp_reg || !fl.ttbr0_reg)
        fprintf(stderr, "ffwd-flow: QEMU lists no pc/sp/TTBR0_EL1 register: shared code may be misplaced\n");
}

/* ---- output ---- */

static void put_str(FILE *f, const char *s)
{
    /* one token: printable characters but space and %, the rest as %XX */
    if (!s || !*s) {
        fputs(" -", f);
        return;
    }
    fputc(' ', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p > ' ' && *p < 127 && *p != '%')
            fputc(*p, f);
        else
            fprintf(f, "%%%02X", *p);
}

static void put_hist(FILE *f, const uint64_t *h)
{
    unsigned top = NBINS;
    while (top && !h[top - 1])
        top--;
    fputs(" ", f);
    for (unsigned i = 0; i < top; i++)
        fprintf(f, "%s%llu", i ? "," : "", (unsigned long long)h[i]);
    if (!top)
        fputs("-", f);
}

static void at_exit(qemu_plugin_id_t id, void *p)
{
    (void)id, (void)p;
    int nv = qemu_plugin_num_vcpus();
    for (int v = 0; v < nv && v < FF_MAX_VCPUS; v++)
        if (fl.cur[v] && fl.cur[v]->rec && !fl.cur[v]->dead)
            task_flush(fl.cur[v], task_u(fl.cur[v], (unsigned)v));
    for (guint i = 0; i < fl.all_tasks->len; i++) {
        struct task *t = g_ptr_array_index(fl.all_tasks, i);
        if (!t->dead && t->rec) { /* switched out: its counters are current */
            while (t->nf)
                pop(t, t->uacc);
            while (t->nr)
                run_end(t, t->nr - 1, t->uacc);
        }
    }
    char *tmp = g_strdup_printf("%s.tmp", fl.out);
    FILE *f = fopen(tmp, "w");
    if (!f) {
        fprintf(stderr, "ffwd-flow: cannot write %s\n", tmp);
        g_free(tmp);
        return;
    }
    fprintf(f, "ffwd-flow-raw 1\n");
    fprintf(f, "info faults %llu\n", (unsigned long long)ff.faults_uncounted);
    fprintf(f, "info loops %d\ninfo filters %s%s\ninfo events %llu\n", fl.loops,
            ff.process_mode == 2 ? "process=roi" : ff.process_mode == 1 ? "process=ttbr0" : "all",
            ff.roi_mode ? ",roi" : "", (unsigned long long)fl.events);
    for (guint i = 0; i < fl.images->len; i++) {
        struct image *im = g_ptr_array_index(fl.images, i);
        fprintf(f, "image %u %u %llu", im->id, im->parent, (unsigned long long)im->pid);
        put_str(f, im->name);
        put_str(f, im->path);
        fprintf(f, " %#llx %#llx %#llx\n", (unsigned long long)im->at_entry, (unsigned long long)im->at_base,
                (unsigned long long)im->at_phdr);
        for (guint j = 0; j < im->maps->len; j++) {
            struct map *m = &g_array_index(im->maps, struct map, j);
            fprintf(f, "map %u %#llx %#llx %#llx", im->id, (unsigned long long)m->start, (unsigned long long)m->len,
                    (unsigned long long)m->off);
            put_str(f, m->path);
            fputc('\n', f);
        }
    }
    for (guint i = 0; i < fl.trecs->len; i++) {
        struct trec *r = g_ptr_array_index(fl.trecs, i);
        if (!r->seen)
            continue;
        fprintf(f, "trec %u %llu %u %llu %llu\n", r->id, (unsigned long long)r->tid, r->img->id,
                (unsigned long long)r->unmatched_rets, (unsigned long long)r->slow_events);
        for (guint j = 1; j < r->funcs->len; j++) {
            struct func *fn = &g_array_index(r->funcs, struct func, j);
            if (fn->calls)
                fprintf(f, "func %u %u %#llx %llu %llu %llu %llu\n", r->id, j, (unsigned long long)fn->entry,
                        (unsigned long long)fn->calls, (unsigned long long)fn->incl, (unsigned long long)fn->excl,
                        (unsigned long long)fn->tails);
        }
        for (guint j = 1; j < r->nodes->len; j++) {
            struct node *nd = &g_array_index(r->nodes, struct node, j);
            fprintf(f, "node %u %u %u %u %llu %llu\n", r->id, j, nd->parent, nd->func, (unsigned long long)nd->calls,
                    (unsigned long long)nd->excl);
        }
        for (guint j = 0; j < r->edges->len; j++) {
            struct edge *e = &g_array_index(r->edges, struct edge, j);
            fprintf(f, "edge %u %u %u %llu\n", r->id, e->caller, e->callee, (unsigned long long)e->calls);
        }
        for (guint j = 0; j < r->loops->len; j++) {
            struct loop *l = &g_array_index(r->loops, struct loop, j);
            fprintf(f, "loop %u %#llx %#llx %llu %llu %llu", r->id, (unsigned long long)l->pc,
                    (unsigned long long)l->target, (unsigned long long)l->execs, (unsigned long long)l->iters,
                    (unsigned long long)l->insns);
            put_hist(f, l->hist);
            fputc('\n', f);
        }
        for (size_t j = 0; j < r->nsys; j++) {
            struct sysc *s = &r->sys[j];
            if (!s->count)
                continue;
            fprintf(f, "sys %u %zu %llu %llu %llu", r->id, j, (unsigned long long)s->count,
                    (unsigned long long)s->kinsns, (unsigned long long)s->errors);
            put_hist(f, s->hist);
            fputc('\n', f);
        }
    }
    fprintf(f, "end\n");
    bool ok = fflush(f) == 0 && !ferror(f);
    ok = fclose(f) == 0 && ok;
    if (!ok || rename(tmp, fl.out) != 0)
        fprintf(stderr, "ffwd-flow: cannot write %s\n", fl.out);
    g_free(tmp);
}

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info, int argc, char **argv)
{
    if (!ffwd_plugin_api_ok("ffwd-flow", info))
        return -1;
    ff_init("ffwd-flow");
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        int r;
        if (!strncmp(a, "out=", 4))
            fl.out = g_strdup(a + 4);
        else if (!strcmp(a, "loops=on") || !strcmp(a, "loops=off"))
            fl.loops = !strcmp(a, "loops=on");
        else if ((r = ff_option(a)) < 0)
            return -1;
        else if (r == 0 || !strncmp(a, "mode=", 5) || !strncmp(a, "range=", 6)) {
            fprintf(stderr, "ffwd-flow: unknown option '%s' (out=PATH, loops=on|off, roi=on, process=roi|TTBR0)\n",
                    a);
            return -1;
        }
    }
    if (!fl.out) {
        fprintf(stderr, "ffwd-flow: needs out=PATH\n");
        return -1;
    }
    ff.user_only = true; /* calls, loops and their instructions are user code's */
    fl.score = qemu_plugin_scoreboard_new(2 * sizeof(uint64_t));
    fl.k = (qemu_plugin_u64){fl.score, 0};
    fl.pend = (qemu_plugin_u64){fl.score, sizeof(uint64_t)};
    fl.tasks = g_hash_table_new(g_int64_hash, g_int64_equal);
    fl.gens = g_hash_table_new(g_int64_hash, g_int64_equal);
    fl.entries = g_hash_table_new(g_int64_hash, g_int64_equal);
    fl.all_tasks = g_ptr_array_new();
    fl.images = g_ptr_array_new();
    fl.trecs = g_ptr_array_new();
    fl.tbrs = g_ptr_array_new();
    fl.clones = g_array_new(FALSE, FALSE, sizeof(struct pclone));
    qemu_plugin_register_vcpu_init_cb(id, vcpu_init);
    qemu_plugin_register_vcpu_tb_trans_cb(id, tb_trans);
    qemu_plugin_register_atexit_cb(id, at_exit, NULL);
    return 0;
}
