/* Unit tests: qemu/profile.c and the QEMU command line built from it. */
#include <stdlib.h>

#include "common/util.h"
#include "qemu/profile.h"
#include "qemu/vm.h"
#include "tests/test.h"

static char *joined(char **argv)
{
    struct sbuf b = {0};
    for (char **p = argv; *p; p++)
        sbuf_addf(&b, "%s\n", *p);
    return b.s;
}

int main(void)
{
    struct ffwd_profile p;
    ffwd_profile_default(&p);
    CHECK(ffwd_profile_check(&p) == 0);
    CHECK(ffwd_profile_disk_mmio_base(0) == 0x0a003e00);
    CHECK(ffwd_profile_disk_intid(0) == 79);
    CHECK(ffwd_profile_disk_mmio_base(1) == 0x0a003c00);

    struct ffwd_vm_config cfg = {.prof = p, .kernel = "K", .initrd = "I", .cmd = "echo hi", .append = "quiet"};
    char **av = ffwd_qemu_argv(&cfg, "/R", "/R/disk0.qcow2", "/R/virt.dtb", "/dev/shm/x.ram");
    char *s = joined(av);
    CHECK_STR_HAS(s, "virt,gic-version=3,its=off,secure=off,virtualization=off,dtb-randomness=off,"
                     "memory-backend=ffwd-ram\n");
    CHECK_STR_HAS(s, "memory-backend-file,id=ffwd-ram,size=512M,mem-path=/dev/shm/x.ram,share=on\n");
    CHECK_STR_HAS(s, "path=/R/qmp-ctl.sock");
    CHECK_STR_HAS(s, "\ncortex-a57,pmu=off\n");
    CHECK_STR_HAS(s, "\n-nodefaults\n");
    CHECK_STR_HAS(s, "\n-no-reboot\n");
    CHECK_STR_HAS(s, "queue-size=1024,event_idx=off,indirect_desc=off,discard=off,write-zeroes=off");
    CHECK_STR_HAS(s, "virtio-mmio.force-legacy=true");
    CHECK_STR_HAS(s, "\n-dtb\n/R/virt.dtb\n");
    CHECK_STR_HAS(s, "path=/R/qmp.sock");
    CHECK_STR_HAS(s, "path=/R/gdb.sock");
    CHECK_STR_HAS(s, "logfile=/R/console.log");
    CHECK_STR_HAS(s, "console=ttyAMA0 nokaslr norandmaps panic=-1 quiet ffwd.cmd=6563686f206869\n");
    CHECK(strstr(s, "-icount") == NULL);
    free(s);
    ffwd_argv_free(av);

    cfg.prof.icount = true;
    cfg.prof.gic_version = 2;
    cfg.prof.smp = 4;
    cfg.prof.mem_bytes = 2ull << 30;
    av = ffwd_qemu_argv(&cfg, "/R", NULL, NULL, NULL);
    s = joined(av);
    CHECK_STR_HAS(s, "\n-icount\nshift=0,sleep=off,align=off\n");
    CHECK_STR_HAS(s, "gic-version=2,secure");
    CHECK_STR_HAS(s, "\n-smp\n4\n");
    CHECK_STR_HAS(s, "\n-m\n2048M\n");
    CHECK(strstr(s, "virtio-blk-device") == NULL);
    free(s);
    ffwd_argv_free(av);

    /* limits name the field */
    p.smp = 17;
    CHECK(ffwd_profile_check(&p) < 0);
    CHECK_STR_HAS(ffwd_errmsg(), "smp");
    p.smp = 9;
    p.gic_version = 2;
    CHECK(ffwd_profile_check(&p) < 0);
    p.smp = 8;
    CHECK(ffwd_profile_check(&p) == 0);
    p.mem_bytes = 1000;
    CHECK(ffwd_profile_check(&p) < 0);
    CHECK_STR_HAS(ffwd_errmsg(), "mem");
    ffwd_profile_default(&p);
    p.accel = "kvm";
    p.icount = true;
    CHECK(ffwd_profile_check(&p) < 0);
    CHECK_STR_HAS(ffwd_errmsg(), "icount");

    struct sbuf out = {0};
    ffwd_profile_default(&p);
    ffwd_profile_print(&p, &out, true);
    json_error_t je;
    json_t *j = json_loads(out.s, 0, &je);
    CHECK(j && json_integer_value(json_object_get(j, "disk0_virtio_mmio_base")) == 0x0a003e00);
    CHECK(j && json_integer_value(json_object_get(j, "virtio_queue_size")) == 1024);
    CHECK(j && json_is_false(json_object_get(j, "pmu")));
    json_decref(j);
    sbuf_free(&out);
    return test_done();
}
