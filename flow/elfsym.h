/*
 * elfsym.h -- the guest's ELF files as `ffwd flow` names addresses with them.
 *
 * A guest path (/usr/bin/xz) is looked up, in this order, in each folder
 * the user gave (FOLDER/usr/bin/xz, then FOLDER/xz), in ffwd's unstripped
 * guest programs (by name), and on the guest's disk (a raw ext4 image,
 * read with debugfs; symbolic links followed on the disk). When the disk
 * copy is readable it is the reference: a candidate whose executable
 * segment differs from it is not used (a stale build cannot name the code).
 * Functions come from .symtab, or from .dynsym when the file is stripped
 * (Debian's programs: exported functions only).
 */
#ifndef FFWD_FLOW_ELFSYM_H
#define FFWD_FLOW_ELFSYM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct elf_sym {
    uint64_t addr, size;
    char *name;
    int rank; /* among names of one address: lower is shown */
};

struct elf_seg {
    uint64_t vaddr, memsz, offset;
};

struct elf_file {
    char *guest_path, *host_path; /* host_path: where the symbols came from */
    bool ok, dyn, from_dynsym;
    uint64_t entry;
    char *interp;
    struct elf_seg *segs; /* executable PT_LOADs */
    size_t nsegs;
    struct elf_sym *syms; /* sorted by address */
    size_t nsyms;
    char text_sum[65];    /* sha256 of the first executable segment */
};

struct elf_files {
    const char *disk;             /* raw ext4 image of the guest's root, or NULL */
    const char *const *dirs;      /* --symbols folders */
    size_t ndirs;
    const char *guest_unstripped; /* ffwd's guest programs with symbols */
    struct elf_file **v;
    size_t n;
    char *tmpdir;
};

/* The file at guest_path (cached), or NULL when no copy was found. */
const struct elf_file *elf_files_get(struct elf_files *fs, const char *guest_path);
/* The function containing vaddr (a file address), or NULL. */
const struct elf_sym *elf_file_sym(const struct elf_file *ef, uint64_t vaddr);
void elf_file_free(struct elf_file *ef);
void elf_files_free(struct elf_files *fs);

#endif
