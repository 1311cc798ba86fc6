/*
 * suite.h -- benchmark suites: real arm64 programs from Debian packages,
 * each with a deterministic input ffwd generates, its command, its region of
 * interest and a checksum of its output (docs/suite.md).
 *
 * A suite is a JSON file ("ffwd_suite": 1); the built-in ones live in
 * DATA_DIR/suites (suites/ in the source tree). A benchmark names:
 *   packages   Debian arm64 packages (their dependency closure is added)
 *   files      text files written into its folder (${VAR} substituted)
 *   inputs     generated inputs: generator (text|random|csource), seed, and
 *              bytes per size
 *   params     per size: variables for the command and the files
 *   command    run by /bin/sh in /bench/NAME on the guest; it is the region
 *              of interest (`ffwd-guest roi --`: its own processes)
 *   output     "stdout" or a file the command writes (relative to its folder)
 *   expect     per size: the sha256 of the output (a run that differs fails)
 *   instructions  per size: about how many user instructions the region
 *              runs (optional; the study's time estimates before anything
 *              was measured)
 *
 * Sizes: "test" (~10^8 instructions, for CI) and "ref" (~10^10, for studies).
 * Each (suite, size) gets one ext4 disk, cached under a hash of everything
 * that goes into it (package versions, the suite's text, ffwd's guest
 * programs) and rebuilt only when one changes.
 */
#ifndef FFWD_SUITE_H
#define FFWD_SUITE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../image/debpkg.h"

enum suite_size { SUITE_TEST, SUITE_REF, SUITE_NSIZES };
extern const char *const suite_size_names[SUITE_NSIZES];
int suite_size_parse(const char *s, enum suite_size *out);

struct suite_file {
    char *path, *text;
};

struct suite_input {
    char *path, *generator;
    uint64_t seed, bytes[SUITE_NSIZES];
};

struct suite_var {
    char *name, *value;
};

struct suite_bench {
    char *name, *kind, *description;
    struct deb_list packages;
    struct suite_file *files;
    size_t nfiles;
    struct suite_input *inputs;
    size_t ninputs;
    struct suite_var *params[SUITE_NSIZES];
    size_t nparams[SUITE_NSIZES];
    char *command, *output;
    char *expect[SUITE_NSIZES]; /* sha256 hex, or NULL: unchecked */
    uint64_t instructions[SUITE_NSIZES]; /* about how many the region runs; 0: not said */
    char *canon;                /* the benchmark's JSON, canonical: part of the disk's key */
};

struct suite {
    char *name, *path, *description;
    struct suite_bench *b;
    size_t n;
};

/* Load SPEC: a built-in suite's name or a suite file's path. Errors name the
 * file and the field. */
int suite_load(const char *spec, struct suite *s);
void suite_free(struct suite *s);
/* Names of the built-in suites (NULL-terminated; caller frees with suite_names_free). */
char **suite_builtin_names(void);
void suite_names_free(char **v);
/* The benchmark called NAME, or NULL. */
const struct suite_bench *suite_find(const struct suite *s, const char *name);

/* SEL[i]: is benchmark i among ONLY (comma-separated names; NULL: all)?
 * An unknown name is an error naming it. */
int suite_select(const struct suite *s, const char *only, bool *sel);

/* The ext4 disk for (S, SIZE): built from Debian arm64 packages on first use.
 * CACHE_DIR NULL: ffwd's cache. *disk is a path the caller frees. */
int suite_disk(const struct suite *s, enum suite_size size, const char *cache_dir, bool quiet, char **disk);

/* The guest command that runs B as the region of interest and prints
 * "@ffwd-suite NAME STATUS SHA256 BYTES" on the console. Caller frees. */
char *suite_guest_cmd(const struct suite_bench *b);
/* Find B's result line in a console log: status, sha256 (65 bytes), output
 * size. 0 found, -1 not there. */
int suite_parse_result(const char *console, const char *name, int *status, char sha[65], uint64_t *bytes);

/* Write B's input I at SIZE to PATH (the generators are deterministic: the
 * same bytes for the same seed and size, on every host). */
int suite_input_write(const struct suite_input *in, enum suite_size size, const char *path);

#endif
