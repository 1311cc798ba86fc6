/*
 * paths.h -- where ffwd's own parts are, in a build tree or installed.
 *
 * A build tree has the binary next to its parts (build/ffwd, build/plugins,
 * build/guest) and takes its data (gem5 configs and templates) from the
 * source tree it was built from. An installation (cmake --install, make
 * install PREFIX=...) has
 *   PREFIX/bin/ffwd
 *   PREFIX/lib/ffwd/plugins/libffwd-*.so     the TCG plugins
 *   PREFIX/lib/ffwd/guest/ffwd-*             the static aarch64 guest programs
 *   PREFIX/share/ffwd/gem5/...               the gem5 configs and templates
 * and the binary finds them from its own location, so no variable is needed
 * and a copied prefix still works. $FFWD_PLUGIN_DIR, $FFWD_GUEST_DIR and
 * $FFWD_DATA_DIR override each (for a development tree, or parts elsewhere).
 */
#ifndef FFWD_PATHS_H
#define FFWD_PATHS_H

/* Folder of the plugins (libffwd-NAME.so). Caller frees. */
char *ffwd_plugin_dir(void);
/* Folder of the guest programs (ffwd-guest, the demo workloads). Caller frees. */
char *ffwd_guest_bin_dir(void);
/* Folder holding gem5/ffwd_restore.py, gem5/ffwd_stdlib.py, gem5/templates. Caller frees. */
char *ffwd_data_dir(void);

#endif
