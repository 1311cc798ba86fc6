/*
 * debpkg.h -- Debian arm64 packages as build inputs of guest disks: the
 * cache folder, apt-cache lookups (dependency closure, candidate versions),
 * apt-get download, dpkg-deb extraction, and ext4 images made with
 * `mke2fs -d` (no root, no loop mount). One place for these tools, shared by
 * the demo guest (guest_image.c) and the benchmark suites (study/suite.c).
 */
#ifndef FFWD_DEBPKG_H
#define FFWD_DEBPKG_H

#include <stddef.h>
#include <sys/types.h>

/* ffwd's cache folder: GIVEN, $FFWD_CACHE, $XDG_CACHE_HOME/ffwd or ~/.cache/ffwd. */
char *img_cache_root(const char *given);
/* A stamp that changes whenever apt's package lists change (NULL: no lists). */
char *img_apt_stamp(void);
/* Run a build tool; on failure the error names WHAT and quotes its output. */
int img_run_quiet(char *const argv[], const char *what);
int img_symlink_at(const char *root, const char *name, const char *target);
int img_write_text(const char *root, const char *name, const char *text, mode_t mode);
int img_mkdirs(const char *root, const char *const *dirs);
int img_extract(const char *deb, const char *dest);
/* The downloaded PKG_*_arm64.deb in DIR (error when there is none). */
char *img_find_deb(const char *dir, const char *pkg);
int img_mke2fs(const char *root, const char *img, const char *size, const char *label);

/* A list of package names (and, after img_deb_versions, their versions). */
struct deb_list {
    char **name, **version;
    size_t n, cap;
};
void deb_list_add(struct deb_list *l, const char *name);
void deb_list_free(struct deb_list *l);

/* The arm64 packages ROOTS need to run: ROOTS and everything they depend on
 * (Depends and Pre-Depends, recursively; apt-cache's answer), less the tools
 * that only install packages (dpkg, tar, debconf, install-info: the guest
 * never installs anything) unless a root names them. Sorted, unique.
 * WHO names the requester in errors ("suite file X, benchmark Y"). */
int img_deb_closure(const struct deb_list *roots, const char *who, struct deb_list *out);
/* Fill l->version with apt's candidate version of every package. */
int img_deb_versions(struct deb_list *l);
/* apt-get download every package of L (name:arm64=version) into DIR. */
int img_deb_download(const struct deb_list *l, const char *dir);

#endif
