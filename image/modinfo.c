/* modinfo.c -- see modinfo.h. */
#include "modinfo.h"

#include <elf.h>
#include <stdio.h>
#include <string.h>

#include "../common/util.h"

int modinfo_depends(const void *ko, size_t len, char *deps, size_t depsz, const char *what)
{
    const unsigned char *b = ko;
    deps[0] = 0;
    if (len < sizeof(Elf64_Ehdr) || memcmp(b, ELFMAG, SELFMAG) || b[EI_CLASS] != ELFCLASS64 ||
        b[EI_DATA] != ELFDATA2LSB)
        return ffwd_seterr("%s: not a little-endian ELF64 kernel module (compressed .ko.xz/.ko.zst are not "
                           "supported)",
                           what);
    Elf64_Ehdr eh;
    memcpy(&eh, b, sizeof eh);
    if (eh.e_shentsize != sizeof(Elf64_Shdr) || eh.e_shoff > len ||
        (size_t)eh.e_shnum * sizeof(Elf64_Shdr) > len - eh.e_shoff || eh.e_shstrndx >= eh.e_shnum)
        return ffwd_seterr("%s: bad ELF section table", what);
    Elf64_Shdr strsh;
    memcpy(&strsh, b + eh.e_shoff + (size_t)eh.e_shstrndx * sizeof(Elf64_Shdr), sizeof strsh);
    if (strsh.sh_offset > len || strsh.sh_size > len - strsh.sh_offset)
        return ffwd_seterr("%s: bad ELF string table", what);
    for (unsigned i = 0; i < eh.e_shnum; i++) {
        Elf64_Shdr sh;
        memcpy(&sh, b + eh.e_shoff + (size_t)i * sizeof(Elf64_Shdr), sizeof sh);
        if (sh.sh_name >= strsh.sh_size)
            continue;
        const char *nm = (const char *)b + strsh.sh_offset + sh.sh_name;
        if (strncmp(nm, ".modinfo", strsh.sh_size - sh.sh_name) != 0)
            continue;
        if (sh.sh_offset > len || sh.sh_size > len - sh.sh_offset)
            return ffwd_seterr("%s: bad .modinfo section", what);
        const char *p = (const char *)b + sh.sh_offset, *end = p + sh.sh_size;
        while (p < end) {
            size_t n = strnlen(p, (size_t)(end - p));
            if (n > 8 && !strncmp(p, "depends=", 8)) {
                snprintf(deps, depsz, "%.*s", (int)(n - 8), p + 8);
                return 0;
            }
            p += n + 1;
        }
        return 0;
    }
    return ffwd_seterr("%s: no .modinfo section: not a kernel module", what);
}
