/* cjson.c -- see cjson.h. */
#include "cjson.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/util.h"

uint64_t cj_hex(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? strtoull(s, NULL, 16) : 0;
}

uint64_t cj_hex_at(json_t *a, size_t i)
{
    const char *s = json_string_value(json_array_get(a, i));
    return s ? strtoull(s, NULL, 16) : 0;
}

json_t *cj_hexval(uint64_t v)
{
    char b[24];
    snprintf(b, sizeof b, "0x%" PRIx64, v);
    return json_string(b);
}

json_t *cj_load_path(const char *p)
{
    json_error_t je;
    json_t *j = json_load_file(p, 0, &je);
    if (!j && je.line > 0)
        ffwd_seterr("%s:%d:%d: %s", p, je.line, je.column, je.text);
    else if (!j) /* jansson's text names the file and the system's reason */
        ffwd_seterr("%s", je.text[0] ? je.text : p);
    return j;
}

json_t *cj_load(const char *dir, const char *name)
{
    char *p = xasprintf("%s/%s", dir, name);
    json_t *j = cj_load_path(p);
    free(p);
    return j;
}

uint64_t cj_sysreg(json_t *cpu, const char *name, int *found)
{
    size_t i;
    json_t *r;
    json_array_foreach(json_object_get(cpu, "sysregs"), i, r)
    {
        if (!strcmp(json_string_value(json_object_get(r, "name")) ?: "", name)) {
            if (found)
                *found = 1;
            return cj_hex(r, "value");
        }
    }
    if (found)
        *found = 0;
    return 0;
}
