/*
 * elfsym.c -- function symbols of the guest's ELF files (libelf), and the
 * files themselves: from the user's --symbols folders, ffwd's own unstripped
 * guest programs, or the guest's raw ext4 disk (read with e2fsprogs'
 * debugfs, so nothing is mounted). See elfsym.h.
 */
#define _GNU_SOURCE
#include "elfsym.h"

#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/log.h"
#include "../common/util.h"

/* by address, then the name a person expects first (lower rank) */
static int sym_cmp(const void *a, const void *b)
{
    const struct elf_sym *x = a, *y = b;
    if (x->addr != y->addr)
        return x->addr < y->addr ? -1 : 1;
    if (x->rank != y->rank)
        return x->rank < y->rank ? -1 : 1;
    return strcmp(x->name, y->name);
}

static int sym_rank(const char *name, int bind, int type)
{
    int r = bind == STB_GLOBAL ? 0 : bind == STB_WEAK ? 1 : 2;
    r += 3 * (name[0] == '_') + 3 * (name[0] == '_' && name[1] == '_');
    return r + (type == STT_FUNC ? 0 : 1);
}

/* Is section i executable code? (a symbol without a type there is a label of code) */
static bool code_section(Elf *e, size_t i)
{
    Elf_Scn *scn = i && i < SHN_LORESERVE ? elf_getscn(e, i) : NULL;
    GElf_Shdr sh;
    return scn && gelf_getshdr(scn, &sh) && (sh.sh_flags & SHF_EXECINSTR);
}

/* Read the file: its functions (.symtab, else .dynsym), entry, loadable
 * executable segments and interpreter. */
static int elf_load(struct elf_file *ef, const char *host_path)
{
    if (elf_version(EV_CURRENT) == EV_NONE)
        return -1;
    int fd = open(host_path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    Elf *e = elf_begin(fd, ELF_C_READ, NULL);
    GElf_Ehdr eh;
    if (!e || elf_kind(e) != ELF_K_ELF || !gelf_getehdr(e, &eh) || eh.e_machine != EM_AARCH64) {
        if (e)
            elf_end(e);
        close(fd);
        return -1;
    }
    ef->entry = eh.e_entry;
    ef->dyn = eh.e_type == ET_DYN;
    size_t nph = 0;
    elf_getphdrnum(e, &nph);
    size_t rawlen = 0;
    char *raw = elf_rawfile(e, &rawlen);
    for (size_t i = 0; i < nph; i++) {
        GElf_Phdr ph;
        if (!gelf_getphdr(e, (int)i, &ph))
            continue;
        if (ph.p_type == PT_LOAD && (ph.p_flags & PF_X)) {
            ef->segs = xrealloc(ef->segs, (ef->nsegs + 1) * sizeof *ef->segs);
            ef->segs[ef->nsegs++] = (struct elf_seg){ph.p_vaddr, ph.p_memsz, ph.p_offset};
            /* the code's bytes; not the ELF header a first segment may hold
             * (stripping changes its section-table fields, not the code) */
            uint64_t from = ph.p_offset < sizeof(Elf64_Ehdr) ? sizeof(Elf64_Ehdr) : ph.p_offset;
            if (raw && ph.p_offset + ph.p_filesz <= rawlen && from < ph.p_offset + ph.p_filesz && !ef->text_sum[0])
                sha256_data(raw + from, ph.p_offset + ph.p_filesz - from, ef->text_sum);
        } else if (ph.p_type == PT_INTERP && raw && ph.p_offset + ph.p_filesz <= rawlen && ph.p_filesz)
            ef->interp = strndup(raw + ph.p_offset, ph.p_filesz);
    }
    for (int pass = 0; pass < 2 && !ef->nsyms; pass++) {
        Elf_Scn *scn = NULL;
        while ((scn = elf_nextscn(e, scn))) {
            GElf_Shdr sh;
            if (!gelf_getshdr(scn, &sh) || sh.sh_type != (pass ? SHT_DYNSYM : SHT_SYMTAB) || !sh.sh_entsize)
                continue;
            Elf_Data *d = elf_getdata(scn, NULL);
            size_t n = d ? sh.sh_size / sh.sh_entsize : 0;
            for (size_t i = 0; i < n; i++) {
                GElf_Sym s;
                if (!gelf_getsym(d, (int)i, &s) || !s.st_value)
                    continue;
                int type = GELF_ST_TYPE(s.st_info);
                const char *nm = elf_strptr(e, sh.sh_link, s.st_name);
                if (!nm || !*nm || nm[0] == '$') /* $x/$d: AArch64 mapping symbols */
                    continue;
                if (type != STT_FUNC && !(type == STT_NOTYPE && code_section(e, s.st_shndx)))
                    continue;
                ef->syms = xrealloc(ef->syms, (ef->nsyms + 1) * sizeof *ef->syms);
                ef->syms[ef->nsyms++] = (struct elf_sym){s.st_value, s.st_size, xstrdup(nm),
                                                         sym_rank(nm, GELF_ST_BIND(s.st_info), type)};
            }
            ef->from_dynsym = pass == 1;
        }
    }
    /* the PLT's stubs (a call through one is a call to the function it jumps to) */
    Elf_Scn *scn = NULL;
    size_t shstr = 0;
    elf_getshdrstrndx(e, &shstr);
    while ((scn = elf_nextscn(e, scn))) {
        GElf_Shdr sh;
        const char *sn = gelf_getshdr(scn, &sh) ? elf_strptr(e, shstr, sh.sh_name) : NULL;
        if (sn && (!strcmp(sn, ".plt") || !strcmp(sn, ".iplt")) && sh.sh_addr) {
            ef->syms = xrealloc(ef->syms, (ef->nsyms + 1) * sizeof *ef->syms);
            ef->syms[ef->nsyms++] = (struct elf_sym){sh.sh_addr, sh.sh_size, xstrdup(sn), 9};
        }
    }
    qsort(ef->syms, ef->nsyms, sizeof *ef->syms, sym_cmp);
    /* one name per address: the best ranked (global, no leading underscore) */
    size_t k = 0;
    for (size_t i = 0; i < ef->nsyms; i++) {
        if (k && ef->syms[k - 1].addr == ef->syms[i].addr) {
            free(ef->syms[i].name);
            continue;
        }
        ef->syms[k++] = ef->syms[i];
    }
    ef->nsyms = k;
    elf_end(e);
    close(fd);
    return 0;
}

const struct elf_sym *elf_file_sym(const struct elf_file *ef, uint64_t vaddr)
{
    size_t lo = 0, hi = ef->nsyms;
    while (lo < hi) { /* the last symbol at or below vaddr */
        size_t mid = (lo + hi) / 2;
        if (ef->syms[mid].addr <= vaddr)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (!lo)
        return NULL;
    const struct elf_sym *s = &ef->syms[lo - 1];
    /* a sized symbol must contain the address; an unsized one is taken as is */
    if (s->size && vaddr >= s->addr + s->size)
        return NULL;
    return s;
}

/* ---- finding the files ---- */

/* debugfs prints "Fast link dest: ..." or the link's target in a slow link */
static char *disk_readlink(const char *disk, const char *path)
{
    char *req = xasprintf("stat \"%s\"", path);
    char *argv[] = {"debugfs", "-R", req, (char *)disk, NULL};
    struct sbuf out = {0};
    struct run_opts o = {.out = &out, .merge_stderr = true}; /* its banner is on stderr */
    int st = run_cmd(argv, &o);
    free(req);
    char *link = NULL;
    if (st == 0 && out.s && strstr(out.s, "Type: symlink")) {
        char *p = strstr(out.s, "Fast link dest: \"");
        if (p) {
            p += strlen("Fast link dest: \"");
            char *q = strchr(p, '"');
            if (q)
                link = strndup(p, (size_t)(q - p));
        }
    }
    sbuf_free(&out);
    return link;
}

/* Copy guest file `path` out of the raw ext4 image `disk` into `tmpdir`. */
static char *disk_fetch(struct elf_files *fs, const char *path)
{
    if (!fs->disk || !have_program("debugfs"))
        return NULL;
    char *p = xstrdup(path);
    for (int hops = 0; hops < 8; hops++) { /* symbolic links, resolved on the disk */
        char *l = disk_readlink(fs->disk, p);
        if (!l)
            break;
        char *np;
        if (l[0] == '/')
            np = l;
        else {
            char *dir = path_parent(p);
            np = xasprintf("%s/%s", dir, l);
            free(dir);
            free(l);
        }
        free(p);
        p = np;
    }
    if (!fs->tmpdir) {
        const char *td = getenv("TMPDIR");
        fs->tmpdir = make_temp_dir(td && *td ? td : "/tmp", "ffwd-flow-");
    }
    if (!fs->tmpdir) {
        free(p);
        return NULL;
    }
    char *dst = xasprintf("%s/%zu", fs->tmpdir, fs->n);
    char *req = xasprintf("dump \"%s\" \"%s\"", p, dst);
    char *argv[] = {"debugfs", "-R", req, (char *)fs->disk, NULL};
    struct run_opts o = {.quiet = true};
    int st = run_cmd(argv, &o);
    free(req);
    free(p);
    if (st != 0 || file_size(dst) <= 0) {
        unlink(dst);
        free(dst);
        return NULL;
    }
    return dst;
}

const struct elf_file *elf_files_get(struct elf_files *fs, const char *guest_path)
{
    if (!guest_path || !*guest_path)
        return NULL;
    for (size_t i = 0; i < fs->n; i++)
        if (!strcmp(fs->v[i]->guest_path, guest_path))
            return fs->v[i]->ok ? fs->v[i] : NULL;
    fs->v = xrealloc(fs->v, (fs->n + 1) * sizeof *fs->v);
    struct elf_file *ef = fs->v[fs->n] = xcalloc(1, sizeof *ef);
    ef->guest_path = xstrdup(guest_path);
    const char *base = strrchr(guest_path, '/');
    base = base ? base + 1 : guest_path;
    /* the copy on the disk: what really ran (its code checks the others) */
    char *disk_copy = disk_fetch(fs, guest_path);
    struct elf_file disk = {0};
    bool have_disk = disk_copy && elf_load(&disk, disk_copy) == 0;
    /* a file with more symbols: the user's folders, then ffwd's unstripped guest programs */
    for (size_t i = 0; i <= fs->ndirs && !ef->ok; i++) {
        const char *dir = i < fs->ndirs ? fs->dirs[i] : fs->guest_unstripped;
        if (!dir)
            continue;
        for (int k = 0; k < 2 && !ef->ok; k++) {
            char *cand = k ? xasprintf("%s/%s", dir, base) : xasprintf("%s%s%s", dir, guest_path[0] == '/' ? "" : "/",
                                                                      guest_path);
            struct elf_file c = {0};
            if (path_exists(cand) && elf_load(&c, cand) == 0) {
                if (have_disk && strcmp(c.text_sum, disk.text_sum)) {
                    ffwd_warn("flow: %s is not the code of the guest's %s (its executable segment differs): "
                              "not used",
                              cand, guest_path);
                    elf_file_free(&c);
                } else {
                    c.guest_path = ef->guest_path;
                    c.host_path = cand;
                    cand = NULL;
                    *ef = c;
                    ef->ok = true;
                }
            }
            free(cand);
        }
    }
    if (!ef->ok && have_disk) {
        disk.guest_path = ef->guest_path;
        disk.host_path = xasprintf("%s:%s", fs->disk, guest_path);
        *ef = disk;
        ef->ok = true;
        have_disk = false;
    }
    if (have_disk)
        elf_file_free(&disk);
    if (disk_copy) {
        unlink(disk_copy);
        free(disk_copy);
    }
    fs->n++;
    return ef->ok ? ef : NULL;
}

void elf_file_free(struct elf_file *ef)
{
    for (size_t i = 0; i < ef->nsyms; i++)
        free(ef->syms[i].name);
    free(ef->syms);
    free(ef->segs);
    free(ef->interp);
    free(ef->host_path);
    ef->syms = NULL, ef->segs = NULL, ef->interp = NULL, ef->host_path = NULL;
}

void elf_files_free(struct elf_files *fs)
{
    for (size_t i = 0; i < fs->n; i++) {
        elf_file_free(fs->v[i]);
        free(fs->v[i]->guest_path);
        free(fs->v[i]);
    }
    free(fs->v);
    if (fs->tmpdir) {
        rm_rf(fs->tmpdir);
        free(fs->tmpdir);
    }
}
