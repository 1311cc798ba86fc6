/*
 * cjson.h -- small helpers for reading capture JSON files (hex-string values,
 * per-file loading with errors that name the file, system register lookup).
 * Used by inspect, the gem5 writer and the capture writer itself.
 */
#ifndef FFWD_CJSON_H
#define FFWD_CJSON_H

#include <jansson.h>
#include <stdint.h>

/* A capture value "0x..." under key k of object o (0 when absent). */
uint64_t cj_hex(json_t *o, const char *k);
/* Element i of an array of "0x..." strings (0 when absent). */
uint64_t cj_hex_at(json_t *a, size_t i);
/* "0x..." string for v (new reference). */
json_t *cj_hexval(uint64_t v);
/* Load dir/name; NULL with an error naming the file and the JSON problem. */
json_t *cj_load(const char *dir, const char *name);
/* Load a JSON file; the error names the file and, for bad JSON, line:column
 * (never "line -1" for a file that cannot be opened). */
json_t *cj_load_path(const char *path);
/* Value of the system register `name` of a cpuN.json object; *found tells
 * whether it was there (may be NULL). */
uint64_t cj_sysreg(json_t *cpu, const char *name, int *found);

#endif
