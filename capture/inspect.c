/* inspect.c -- see inspect.h. */
#include "inspect.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "capture.h"
#include "cjson.h"

int ffwd_inspect(const char *dir, bool as_json, struct sbuf *out)
{
    json_t *m = ffwd_capture_open(dir);
    if (!m)
        return -1;
    json_t *sum = json_object(), *cpus = json_array();
    int rc = -1;
    json_t *gic = NULL, *timer = NULL, *devs = NULL;
    size_t i;
    json_t *cf;
    json_array_foreach(json_object_get(m, "cpu_files"), i, cf)
    {
        json_t *c = cj_load(dir, json_string_value(cf));
        if (!c)
            goto out;
        uint64_t sctlr = cj_sysreg(c, "SCTLR_EL1", NULL);
        json_array_append_new(cpus, json_pack("{s:I,s:I,s:O,s:O,s:O,s:b,s:b,s:O}", "index", (json_int_t)i, "el",
                                              json_integer_value(json_object_get(c, "el")), "pc",
                                              json_object_get(c, "pc"), "sp", json_object_get(c, "sp"), "pstate",
                                              json_object_get(c, "pstate"), "mmu_on", (int)(sctlr & 1), "halted",
                                              json_is_true(json_object_get(c, "halted")), "mpidr",
                                              json_object_get(c, "mpidr")));
        json_decref(c);
    }
    if (!(gic = cj_load(dir, "gic.json")) || !(timer = cj_load(dir, "timer.json")) || !(devs = cj_load(dir, "devices.json")))
        goto out;
    json_object_set_new(sum, "capture", json_string(dir));
    json_object_set(sum, "created_utc", json_object_get(m, "created_utc"));
    json_object_set(sum, "trigger", json_object_get(m, "trigger"));
    json_object_set(sum, "instructions", json_object_get(m, "instructions"));
    json_object_set(sum, "qemu", json_object_get(m, "qemu"));
    json_object_set_new(sum, "cpus", cpus);
    cpus = NULL;
    json_object_set(sum, "ram", json_object_get(m, "ram"));
    json_object_set(sum, "disks", json_object_get(m, "disks"));
    json_object_set_new(sum, "gic_version", json_incref(json_object_get(gic, "version")));
    json_object_set_new(sum, "timer", json_pack("{s:O,s:O}", "cntfrq", json_object_get(timer, "cntfrq"), "counter",
                                                json_object_get(timer, "counter")));
    json_t *vio = json_array_get(json_object_get(devs, "virtio_mmio"), 0);
    if (vio)
        json_object_set_new(sum, "virtio", json_pack("{s:O,s:O,s:O}", "base", json_object_get(vio, "base"), "status",
                                                     json_object_get(vio, "status"), "queues",
                                                     json_object_get(vio, "queues")));
    if (as_json) {
        char *s = json_dumps(sum, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        sbuf_addf(out, "%s\n", s);
        free(s);
        rc = 0;
        goto out;
    }
    json_t *trig = json_object_get(m, "trigger");
    sbuf_addf(out, "capture    %s\n", dir);
    sbuf_addf(out, "created    %s by QEMU %s (%s), trigger %s%s%s\n",
              json_string_value(json_object_get(m, "created_utc")),
              json_string_value(json_object_get(json_object_get(m, "qemu"), "version")),
              json_string_value(json_object_get(json_object_get(m, "qemu"), "machine")),
              json_string_value(json_object_get(trig, "kind")), json_object_get(trig, "detail") ? " " : "",
              json_string_value(json_object_get(trig, "detail")) ?: "");
    json_t *ins = json_object_get(json_object_get(m, "instructions"), "total");
    if (json_is_integer(ins))
        sbuf_addf(out, "instrs     %lld retired before the stop\n", (long long)json_integer_value(ins));
    json_t *c;
    json_array_foreach(json_object_get(sum, "cpus"), i, c)
    {
        sbuf_addf(out, "cpu%-7zu EL%lld  PC %s  SP %s  MMU %s%s\n", i,
                  (long long)json_integer_value(json_object_get(c, "el")),
                  json_string_value(json_object_get(c, "pc")), json_string_value(json_object_get(c, "sp")),
                  json_is_true(json_object_get(c, "mmu_on")) ? "on" : "off",
                  json_is_true(json_object_get(c, "halted")) ? "  (halted in WFI)" : "");
    }
    json_t *r = json_array_get(json_object_get(m, "ram"), 0);
    uint64_t rsz = (uint64_t)json_integer_value(json_object_get(r, "size"));
    uint64_t nz = (uint64_t)json_integer_value(json_object_get(r, "nonzero_pages"));
    sbuf_addf(out, "ram        %llu MiB at %s, %llu non-zero pages (%.1f%%)\n", (unsigned long long)(rsz >> 20),
              json_string_value(json_object_get(r, "base")), (unsigned long long)nz,
              rsz ? 100.0 * (double)nz * 4096 / (double)rsz : 0.0);
    json_t *d = json_array_get(json_object_get(m, "disks"), 0);
    if (d)
        sbuf_addf(out, "disk       %lld sectors changed (%.1f KiB) over %s\n",
                  (long long)json_integer_value(json_object_get(d, "sectors")),
                  (double)json_integer_value(json_object_get(d, "sectors")) / 2.0,
                  json_string_value(json_object_get(d, "base_image")));
    sbuf_addf(out, "gic        GICv%lld\n", (long long)json_integer_value(json_object_get(gic, "version")));
    sbuf_addf(out, "timer      CNTFRQ %lld Hz, counter %lld\n",
              (long long)json_integer_value(json_object_get(timer, "cntfrq")),
              (long long)json_integer_value(json_object_get(timer, "counter")));
    json_t *u = json_object_get(devs, "pl011"), *rtc = json_object_get(devs, "pl031");
    sbuf_addf(out, "pl011      CR %s IMSC %s\n", json_string_value(json_object_get(u, "cr")) ?: "-",
              json_string_value(json_object_get(u, "imsc")) ?: "-");
    sbuf_addf(out, "pl031      %lld s\n", (long long)json_integer_value(json_object_get(rtc, "seconds")));
    if (vio) {
        json_t *q = json_array_get(json_object_get(vio, "queues"), 0);
        sbuf_addf(out, "virtio     blk at %s status %s, queue %lld entries, last_avail %lld, used %lld\n",
                  json_string_value(json_object_get(vio, "base")), json_string_value(json_object_get(vio, "status")),
                  (long long)json_integer_value(json_object_get(q, "size")),
                  (long long)json_integer_value(json_object_get(q, "last_avail_idx")),
                  (long long)json_integer_value(json_object_get(q, "used_idx")));
    }
    rc = 0;
out:
    json_decref(cpus);
    json_decref(gic);
    json_decref(timer);
    json_decref(devs);
    json_decref(sum);
    json_decref(m);
    return rc;
}
