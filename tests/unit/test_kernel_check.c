/* Unit tests: input validation of kernels and disks (qemu/vm.c). */
#include <stdlib.h>

#include "common/util.h"
#include "qemu/vm.h"
#include "tests/test.h"

int main(void)
{
    char *dir = make_temp_dir("/tmp", "ffwd-test-kc-");
    char hdr[0x40] = {0};
    memcpy(hdr + 0x38, "ARM\x64", 4);
    char *img = xasprintf("%s/Image", dir);
    write_file_atomic(img, hdr, sizeof hdr, 0644);
    CHECK(ffwd_check_kernel(img) == 0);
    CHECK(ffwd_check_kernel("/bin/true") < 0); /* the host's x86-64 ELF */
    CHECK_STR_HAS(ffwd_errmsg(), "x86-64");
    CHECK(ffwd_check_kernel("/nonexistent/Image") < 0);
    CHECK_STR_HAS(ffwd_errmsg(), "/nonexistent/Image");
    char *txt = xasprintf("%s/README", dir);
    write_file_atomic(txt, "hello world, not a kernel, padding padding padding padding padding padding", 70, 0644);
    CHECK(ffwd_check_kernel(txt) < 0);
    CHECK_STR_HAS(ffwd_errmsg(), "not an arm64 Linux Image");
    CHECK(ffwd_check_kernel(NULL) < 0);

    char *raw = xasprintf("%s/raw.img", dir);
    char *buf = calloc(1, 4096);
    write_file_atomic(raw, buf, 4096, 0644);
    CHECK(ffwd_check_disk(raw) && !strcmp(ffwd_check_disk(raw), "raw"));
    write_file_atomic(raw, buf, 1000, 0644);
    CHECK(ffwd_check_disk(raw) == NULL);
    CHECK_STR_HAS(ffwd_errmsg(), "multiple of 512");
    char *q = xasprintf("%s/q.qcow2", dir);
    char *argv[] = {"qemu-img", "create", "-q", "-f", "qcow2", q, "1M", NULL};
    CHECK(run_cmd(argv, NULL) == 0);
    CHECK(ffwd_check_disk(q) && !strcmp(ffwd_check_disk(q), "qcow2"));
    CHECK(ffwd_check_disk("/nonexistent/disk.img") == NULL);
    CHECK(ffwd_check_disk(dir) == NULL);

    int maj, min, mic;
    CHECK(ffwd_qemu_version("/nonexistent/qemu", &maj, &min, &mic) < 0);
    CHECK_STR_HAS(ffwd_errmsg(), "QEMU not found");
    CHECK(ffwd_qemu_version(ffwd_qemu_binary(NULL), &maj, &min, &mic) == 0 && maj >= 10);
    rm_rf(dir);
    free(dir);
    free(img);
    free(txt);
    free(raw);
    free(q);
    free(buf);
    return test_done();
}
