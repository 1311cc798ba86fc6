/* migstream.c -- see migstream.h. Format: QEMU migration/savevm.c, migration/ram.c, migration/vmstate.c. */
#include "migstream.h"

#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../common/util.h"

enum {
    QEMU_VM_EOF = 0x00,
    QEMU_VM_SECTION_START = 0x01,
    QEMU_VM_SECTION_PART = 0x02,
    QEMU_VM_SECTION_END = 0x03,
    QEMU_VM_SECTION_FULL = 0x04,
    QEMU_VM_SUBSECTION = 0x05,
    QEMU_VM_VMDESCRIPTION = 0x06,
    QEMU_VM_CONFIGURATION = 0x07,
    QEMU_VM_COMMAND = 0x08,
    QEMU_VM_SECTION_FOOTER = 0x7e,
    QEMU_VM_STREAM_EOF = 0x1f,
};

/* migration/ram.h flags (low bits of each record header) */
#define RAM_ZERO 0x02
#define RAM_MEM_SIZE 0x04
#define RAM_PAGE 0x08
#define RAM_EOS 0x10
#define RAM_CONTINUE 0x20
#define RAM_XBZRLE 0x40
#define RAM_MULTIFD_FLUSH 0x200

struct rd {
    const uint8_t *p, *end;
    const char *what;
    int err;
    const uint8_t *start; /* byte 0 of the stream, for the offsets in messages */
};

static int rd_fail(struct rd *r, const char *msg)
{
    if (!r->err)
        ffwd_seterr("%s: migration stream: %s (at byte %zu)", r->what, msg, (size_t)(r->p - r->start));
    r->err = 1;
    return -1;
}

static int need(struct rd *r, size_t n)
{
    if (r->err)
        return -1;
    if ((size_t)(r->end - r->p) < n) {
        ffwd_seterr("%s: migration stream is truncated (%zu bytes needed at byte %zu, %zu left)", r->what, n,
                    (size_t)(r->p - r->start), (size_t)(r->end - r->p));
        r->err = 1;
        return -1;
    }
    return 0;
}

static uint64_t be(struct rd *r, size_t n)
{
    if (need(r, n) < 0)
        return 0;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v = v << 8 | r->p[i];
    r->p += n;
    return v;
}

static char *idstr(struct rd *r)
{
    size_t n = (size_t)be(r, 1);
    if (need(r, n) < 0)
        return NULL;
    char *s = xmalloc(n + 1);
    memcpy(s, r->p, n);
    s[n] = 0;
    r->p += n;
    return s;
}

struct ctx {
    struct rd r;
    struct mig_stream *m;
    json_t *vmdesc;
    bool ignore_shared;
    size_t page_size;
    /* the RAM blocks announced by the MEM_SIZE record */
    size_t nblocks;
    /* extraction (mig_parse_file_ram): this block's pages go to ram_out */
    const char *ram_block;
    int ram_out;
    uint64_t ram_size, ram_pages;
    bool in_block;   /* the block of the last page record is ram_block */
    bool mapped_buf; /* the stream buffer is a file mapping */
};

static void add_field(struct mig_device *d, const char *name, const char *sect, const uint8_t *data, size_t esz,
                      size_t cnt)
{
    d->fields = xrealloc(d->fields, (d->nfields + 1) * sizeof *d->fields);
    d->fields[d->nfields++] = (struct mig_field){xstrdup(name), xstrdup(sect), data, esz, cnt};
}

static int parse_vmsd(struct ctx *c, struct mig_device *d, json_t *desc);

static int parse_fields(struct ctx *c, struct mig_device *d, json_t *fields, const char *sect)
{
    size_t i;
    json_t *f;
    json_array_foreach(fields, i, f)
    {
        const char *name = json_string_value(json_object_get(f, "name"));
        const char *type = json_string_value(json_object_get(f, "type"));
        json_t *sz = json_object_get(f, "size"), *al = json_object_get(f, "array_len");
        if (!name || !type || !json_is_integer(sz))
            return rd_fail(&c->r, "vmdesc field without name/type/size");
        if (json_integer_value(sz) < 0 || (al && (!json_is_integer(al) || json_integer_value(al) < 0)))
            return rd_fail(&c->r, "vmdesc field with a negative size or array_len");
        size_t size = (size_t)json_integer_value(sz), cnt = al ? (size_t)json_integer_value(al) : 1;
        if (cnt && size > ((size_t)-1) / cnt)
            return rd_fail(&c->r, "field too large");
        /* every element is in the stream: an array longer than what is left
         * is corrupt (and a zero-size struct repeated 2^62 times would
         * otherwise take forever) */
        if (need(&c->r, size * cnt) < 0)
            return -1;
        if (size == 0 && cnt > 4096)
            return rd_fail(&c->r, "vmdesc: an array of more than 4096 empty elements");
        if (!strcmp(type, "struct")) {
            json_t *st = json_object_get(f, "struct");
            if (!st)
                return rd_fail(&c->r, "vmdesc struct field without description");
            for (size_t k = 0; k < cnt; k++) {
                const uint8_t *start = c->r.p;
                if (parse_vmsd(c, d, st) < 0)
                    return -1;
                if ((size_t)(c->r.p - start) != size)
                    return rd_fail(&c->r, "a struct's size differs from its vmdesc size");
            }
            continue;
        }
        add_field(d, name, sect, c->r.p, size, cnt);
        c->r.p += size * cnt;
    }
    return 0;
}

static int parse_vmsd(struct ctx *c, struct mig_device *d, json_t *desc)
{
    const char *sect = json_string_value(json_object_get(desc, "vmsd_name"));
    if (parse_fields(c, d, json_object_get(desc, "fields"), sect ? sect : "") < 0)
        return -1;
    json_t *subs = json_object_get(desc, "subsections");
    size_t i;
    json_t *s;
    json_array_foreach(subs, i, s)
    {
        const char *want = json_string_value(json_object_get(s, "vmsd_name"));
        if (be(&c->r, 1) != QEMU_VM_SUBSECTION)
            return rd_fail(&c->r, "expected a subsection marker");
        char *nm = idstr(&c->r);
        if (!nm)
            return -1;
        bool ok = want && !strcmp(nm, want);
        free(nm);
        if (!ok)
            return rd_fail(&c->r, "subsection name differs from vmdesc");
        be(&c->r, 4); /* version */
        if (parse_vmsd(c, d, s) < 0)
            return -1;
    }
    return c->r.err ? -1 : 0;
}

static int parse_ram(struct ctx *c)
{
    for (;;) {
        uint64_t hdr = be(&c->r, 8);
        if (c->r.err)
            return -1;
        uint64_t flags = hdr & (c->page_size - 1), addr = hdr & ~(uint64_t)(c->page_size - 1);
        if (flags & RAM_EOS)
            return 0;
        if (flags & RAM_MEM_SIZE) {
            uint64_t total = addr, seen = 0;
            while (seen < total) {
                char *nm = idstr(&c->r);
                if (!nm)
                    return -1;
                free(nm);
                seen += be(&c->r, 8);
                if (c->ignore_shared)
                    be(&c->r, 8);
                c->nblocks++;
                if (c->r.err)
                    return -1;
            }
            continue;
        }
        if (flags & RAM_MULTIFD_FLUSH)
            continue;
        if (flags & (RAM_ZERO | RAM_PAGE)) {
            if (!(flags & RAM_CONTINUE)) {
                char *nm = idstr(&c->r);
                if (!nm)
                    return -1;
                c->in_block = c->ram_block && !strcmp(nm, c->ram_block);
                free(nm);
            }
            if (flags & RAM_ZERO)
                be(&c->r, 1); /* a zero page: a hole in the extracted file */
            else {
                if (need(&c->r, c->page_size) < 0)
                    return -1;
                if (c->in_block) {
                    if (addr > c->ram_size || c->ram_size - addr < c->page_size)
                        return rd_fail(&c->r, "a RAM page lies outside the block's size");
                    if (fd_pwrite_all(c->ram_out, c->r.p, c->page_size, (off_t)addr) < 0) {
                        ffwd_seterr_errno("%s: cannot write the RAM pages", c->r.what);
                        c->r.err = 1;
                        return -1;
                    }
                    c->ram_pages++;
                }
                c->r.p += c->page_size;
            }
            continue;
        }
        char msg[96];
        snprintf(msg, sizeof msg, "unsupported RAM record flags 0x%llx (compression/xbzrle are not used by ffwd)",
                 (unsigned long long)flags);
        return rd_fail(&c->r, msg);
    }
}

static json_t *find_desc(json_t *vmdesc, const char *name, uint32_t inst)
{
    size_t i;
    json_t *d;
    json_array_foreach(json_object_get(vmdesc, "devices"), i, d)
    {
        const char *n = json_string_value(json_object_get(d, "name"));
        if (n && !strcmp(n, name) && (uint32_t)json_integer_value(json_object_get(d, "instance_id")) == inst)
            return d;
    }
    return NULL;
}

/* Locate the vmdesc JSON: it is the last thing in the stream. */
static json_t *load_vmdesc(const uint8_t *buf, size_t len, const char *what)
{
    for (size_t k = len >= 5 ? len - 5 : 0; k > 8; k--) {
        if (buf[k] != QEMU_VM_VMDESCRIPTION)
            continue;
        size_t l = (size_t)buf[k + 1] << 24 | (size_t)buf[k + 2] << 16 | (size_t)buf[k + 3] << 8 | buf[k + 4];
        if (k + 5 + l == len) {
            json_error_t je;
            json_t *j = json_loadb((const char *)buf + k + 5, l, 0, &je);
            if (!j)
                ffwd_seterr("%s: the migration stream's vmdesc JSON is malformed: %s", what, je.text);
            return j;
        }
    }
    ffwd_seterr("%s: no vmdesc at the end of the migration stream (truncated, or not a QEMU migration file)", what);
    return NULL;
}

static void dev_free(struct mig_device *d)
{
    for (size_t i = 0; i < d->nfields; i++) {
        free(d->fields[i].name);
        free(d->fields[i].section);
    }
    free(d->fields);
    free(d->name);
}

static int parse_stream(uint8_t *buf, size_t len, const char *what, struct mig_stream *out, struct ctx *ext);

int mig_parse(uint8_t *buf, size_t len, const char *what, struct mig_stream *out)
{
    return parse_stream(buf, len, what, out, NULL);
}

/* ext: extraction settings (ram_block, ram_out, ram_size), NULL: none */
static int parse_stream(uint8_t *buf, size_t len, const char *what, struct mig_stream *out, struct ctx *ext)
{
    memset(out, 0, sizeof *out);
    out->buf = buf;
    out->len = len;
    out->mapped = ext && ext->mapped_buf; /* how mig_free lets go of it, on failure too */
    if (len < 8 || memcmp(buf, "QEVM", 4) || buf[4] || buf[5] || buf[6] || buf[7] != 3) {
        ffwd_seterr("%s: not a QEMU migration stream (no QEVM v3 header)", what);
        mig_free(out);
        return -1;
    }
    struct ctx c = {.r = {buf + 8, buf + len, what, 0, buf}, .m = out, .page_size = 4096};
    if (ext)
        c.ram_block = ext->ram_block, c.ram_out = ext->ram_out, c.ram_size = ext->ram_size;
    c.vmdesc = load_vmdesc(buf, len, what);
    if (!c.vmdesc) {
        mig_free(out);
        return -1;
    }
    int rc = -1;
    for (;;) {
        int t = (int)be(&c.r, 1);
        if (c.r.err)
            goto out;
        if (t == QEMU_VM_CONFIGURATION) {
            size_t n = (size_t)be(&c.r, 4);
            if (need(&c.r, n) < 0)
                goto out;
            out->machine = xasprintf("%.*s", (int)n, (const char *)c.r.p);
            c.r.p += n;
            /* subsections: target page bits, capabilities */
            while (c.r.p < c.r.end && *c.r.p == QEMU_VM_SUBSECTION) {
                c.r.p++;
                char *nm = idstr(&c.r);
                if (!nm)
                    goto out;
                be(&c.r, 4);
                if (!strcmp(nm, "configuration/target-page-bits")) {
                    out->target_page_bits = (unsigned)be(&c.r, 4);
                    if (out->target_page_bits < 10 || out->target_page_bits > 16) {
                        free(nm);
                        rd_fail(&c.r, "implausible target page bits");
                        goto out;
                    }
                    c.page_size = (size_t)1 << out->target_page_bits;
                } else if (!strcmp(nm, "configuration/capabilities")) {
                    size_t k = (size_t)be(&c.r, 4);
                    for (size_t i = 0; i < k && !c.r.err; i++) {
                        char *cap = idstr(&c.r);
                        if (cap && !strcmp(cap, "x-ignore-shared"))
                            c.ignore_shared = true;
                        free(cap);
                    }
                } else {
                    free(nm);
                    rd_fail(&c.r, "unknown configuration subsection");
                    goto out;
                }
                free(nm);
            }
            continue;
        }
        if (t == QEMU_VM_SECTION_START || t == QEMU_VM_SECTION_FULL) {
            uint32_t sid = (uint32_t)be(&c.r, 4);
            char *name = idstr(&c.r);
            if (!name)
                goto out;
            uint32_t inst = (uint32_t)be(&c.r, 4), ver = (uint32_t)be(&c.r, 4);
            if (!strcmp(name, "ram")) {
                free(name);
                if (parse_ram(&c) < 0)
                    goto out;
            } else {
                json_t *desc = find_desc(c.vmdesc, name, inst);
                if (!desc) {
                    char msg[300];
                    snprintf(msg, sizeof msg, "section '%s' instance %u has no vmdesc entry", name, inst);
                    free(name);
                    rd_fail(&c.r, msg);
                    goto out;
                }
                out->devs = xrealloc(out->devs, (out->ndevs + 1) * sizeof *out->devs);
                struct mig_device *d = &out->devs[out->ndevs++];
                memset(d, 0, sizeof *d);
                d->name = name;
                d->instance = inst;
                d->version = ver;
                if (parse_vmsd(&c, d, desc) < 0)
                    goto out;
            }
            if (be(&c.r, 1) != QEMU_VM_SECTION_FOOTER || be(&c.r, 4) != sid) {
                rd_fail(&c.r, "section footer missing or with the wrong id");
                goto out;
            }
            continue;
        }
        if (t == QEMU_VM_SECTION_PART || t == QEMU_VM_SECTION_END) {
            uint32_t sid = (uint32_t)be(&c.r, 4);
            if (parse_ram(&c) < 0)
                goto out;
            if (be(&c.r, 1) != QEMU_VM_SECTION_FOOTER || be(&c.r, 4) != sid) {
                rd_fail(&c.r, "section footer missing or with the wrong id");
                goto out;
            }
            continue;
        }
        if (t == QEMU_VM_COMMAND) {
            be(&c.r, 2);
            size_t n = (size_t)be(&c.r, 2);
            if (need(&c.r, n) < 0)
                goto out;
            c.r.p += n;
            continue;
        }
        if (t == QEMU_VM_STREAM_EOF || t == QEMU_VM_EOF)
            break;
        char msg[64];
        snprintf(msg, sizeof msg, "unknown section type 0x%02x", t);
        rd_fail(&c.r, msg);
        goto out;
    }
    rc = 0;
out:
    json_decref(c.vmdesc);
    if (ext)
        ext->ram_pages = c.ram_pages;
    if (rc < 0)
        mig_free(out);
    return rc;
}

int mig_parse_file(const char *path, struct mig_stream *out)
{
    size_t len;
    char *buf = read_file(path, &len);
    if (!buf)
        return -1;
    return mig_parse((uint8_t *)buf, len, path, out);
}

int mig_parse_file_ram(const char *path, const char *block, int out, uint64_t size, uint64_t *pages,
                       struct mig_stream *ms)
{
    *pages = 0;
    memset(ms, 0, sizeof *ms);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return ffwd_seterr_errno("%s", path);
    off_t len = lseek(fd, 0, SEEK_END);
    void *m = len > 0 ? mmap(NULL, (size_t)len, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0) : MAP_FAILED;
    close(fd);
    if (m == MAP_FAILED)
        return len > 0 ? ffwd_seterr_errno("cannot map %s", path) : ffwd_seterr("%s is empty", path);
    madvise(m, (size_t)len, MADV_SEQUENTIAL);
    struct ctx ext = {.ram_block = block, .ram_out = out, .ram_size = size, .mapped_buf = true};
    /* parse_stream owns the mapping: mig_free unmaps it (on failure too) */
    int rc = parse_stream(m, (size_t)len, path, ms, &ext);
    *pages = ext.ram_pages;
    return rc;
}

void mig_free(struct mig_stream *m)
{
    for (size_t i = 0; i < m->ndevs; i++)
        dev_free(&m->devs[i]);
    free(m->devs);
    free(m->machine);
    if (m->mapped)
        munmap(m->buf, m->len);
    else
        free(m->buf);
    memset(m, 0, sizeof *m);
}

const struct mig_device *mig_device(const struct mig_stream *m, const char *name, uint32_t instance)
{
    for (size_t i = 0; i < m->ndevs; i++)
        if (!strcmp(m->devs[i].name, name) && m->devs[i].instance == instance)
            return &m->devs[i];
    return NULL;
}

size_t mig_count(const struct mig_stream *m, const char *name)
{
    size_t n = 0;
    for (size_t i = 0; i < m->ndevs; i++)
        n += !strcmp(m->devs[i].name, name);
    return n;
}

const struct mig_field *mig_field(const struct mig_device *d, const char *name, size_t nth)
{
    if (!d)
        return NULL;
    for (size_t i = 0; i < d->nfields; i++)
        if (!strcmp(d->fields[i].name, name) && nth-- == 0)
            return &d->fields[i];
    return NULL;
}

uint64_t mig_u64(const struct mig_field *f, size_t i)
{
    if (!f || i >= f->count)
        return 0;
    const uint8_t *p = f->data + i * f->elem_size;
    uint64_t v = 0;
    for (size_t k = 0; k < f->elem_size && k < 8; k++)
        v = v << 8 | p[k];
    return v;
}
