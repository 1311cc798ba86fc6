/* paths.c -- where ffwd's own parts are (see paths.h). */
#include "paths.h"

#include <stdlib.h>

#include "util.h"

#ifndef FFWD_SOURCE_DIR
#define FFWD_SOURCE_DIR "."
#endif

/* The folder of the running binary; "." when /proc is not there. */
static char *exe_dir(void)
{
    char d[4096];
    return self_exe_dir(d, sizeof d) < 0 ? xstrdup(".") : xstrdup(d);
}

/* lib/ffwd of an installation, or NULL in a build tree. */
static char *installed_lib(const char *exe)
{
    char *lib = xasprintf("%s/../lib/ffwd", exe);
    char *plug = xasprintf("%s/plugins", exe);
    bool build_tree = path_is_dir(plug);
    free(plug);
    if (!build_tree && path_is_dir(lib))
        return lib;
    free(lib);
    return NULL;
}

static char *part_dir(const char *env, const char *sub)
{
    const char *e = getenv(env);
    if (e && *e)
        return xstrdup(e);
    char *exe = exe_dir(), *lib = installed_lib(exe);
    char *d = xasprintf("%s/%s", lib ? lib : exe, sub);
    free(lib);
    free(exe);
    return d;
}

char *ffwd_plugin_dir(void) { return part_dir("FFWD_PLUGIN_DIR", "plugins"); }

char *ffwd_guest_bin_dir(void) { return part_dir("FFWD_GUEST_DIR", "guest"); }

char *ffwd_data_dir(void)
{
    const char *e = getenv("FFWD_DATA_DIR");
    if (e && *e)
        return xstrdup(e);
    char *exe = exe_dir(), *lib = installed_lib(exe);
    char *d = lib ? xasprintf("%s/../share/ffwd", exe) : xstrdup(FFWD_SOURCE_DIR);
    free(lib);
    free(exe);
    return d;
}
