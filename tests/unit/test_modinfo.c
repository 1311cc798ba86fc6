/* Unit tests: image/modinfo.c. This test binary carries its own .modinfo
 * section, exactly as a kernel module does, so the reader is tested on a
 * real ELF64 object. */
#include <stdlib.h>

#include "common/util.h"
#include "image/modinfo.h"
#include "tests/test.h"

__attribute__((used, section(".modinfo"))) static const char modinfo[] = "license=GPL\0depends=jbd2,mbcache,crc16\0"
                                                                          "name=fake\0";

int main(void)
{
    size_t len;
    char *self = read_file("/proc/self/exe", &len);
    CHECK(self != NULL);
    char deps[256];
    CHECK(modinfo_depends(self, len, deps, sizeof deps, "self") == 0);
    CHECK(!strcmp(deps, "jbd2,mbcache,crc16"));
    CHECK(modinfo_depends(self, 60, deps, sizeof deps, "cut") < 0); /* truncated */
    CHECK(modinfo_depends("\xfd" "7zXZ\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0"
                          "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0",
                          64, deps, sizeof deps, "virtio_blk.ko.xz") < 0);
    CHECK_STR_HAS(ffwd_errmsg(), "compressed");
    free(self);
    (void)modinfo;
    return test_done();
}
