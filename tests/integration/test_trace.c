/*
 * Memory tracing and the online model on the demo guest: the trace holds
 * exactly the accesses the model saw, replaying it through the same cache
 * gives the same misses, a fully associative replay agrees with the
 * reuse-distance histogram, the model's intervals add up, the window
 * options hold, and bad input is refused.
 */
#define _GNU_SOURCE

#include <ctype.h>
#include <jansson.h>
#include <math.h>

#include "tests/integration/helpers.h"

static unsigned long long summary_val(const char *sum, const char *key, const char *what)
{
    const char *p = sum ? strstr(sum, key) : NULL;
    if (!p)
        return 0;
    p = strstr(p, what) ? p : NULL;
    unsigned long long a = 0, m = 0;
    if (p && sscanf(p + strlen(key), ": %llu accesses, %llu misses", &a, &m) == 2)
        return !strcmp(what, "misses") ? m : a;
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 2)
        return 2;
    char *dir = make_temp_dir("/tmp", "ffwd-it-trace-");
    char *prefix = xasprintf("%s/m", dir), *tr = xasprintf("%s.0.trace", prefix), *csvp = xasprintf("%s.0.model.csv", prefix);
    char *sump = xasprintf("%s.summary", prefix);
    struct sbuf o = {0};
    if (!strcmp(argv[1], "model")) {
        const char *ra[] = {"trace", "record", "--out", prefix, "--roi", "--values", "--model", "--interval", "2000000",
                            "--deterministic", "--append", "ffwd.root=none", "--cmd",
                            "ffwd-guest roi-begin; ffwd-matmul 96; ffwd-sort 20000; ffwd-guest roi-end", NULL};
        CHECK_MSG(ffwd(&o, ra) == 0, "%s", o.s);
        char *sum = read_file(sump, NULL);
        unsigned long long insns = 0, traced = 0;
        if (sum)
            sscanf(sum, "vcpu 0: %llu instructions in the window, %llu accesses traced", &insns, &traced);
        unsigned long long l1d_acc = summary_val(sum, "l1d", "accesses"), l1d_miss = summary_val(sum, "l1d", "misses");
        CHECK_MSG(insns > 1000000 && traced > 100000, "%s", sum ? sum : "(no summary)");
        CHECK(l1d_acc == traced); /* the model saw exactly the traced accesses */
        /* replay: the same geometry gives the same misses; fully associative LRU = reuse histogram */
        sbuf_free(&o);
        const char *sa[] = {"trace", "stats", tr, "--json", "--cache", "32K:2:64", "--cache", "32K:0:64", NULL};
        CHECK_MSG(ffwd(&o, sa) == 0, "%s", o.s);
        json_t *j = json_loads(o.s ? o.s : "", 0, NULL);
        json_t *caches = json_object_get(j, "caches");
        unsigned long long rec = (unsigned long long)json_integer_value(json_object_get(j, "records"));
        unsigned long long m2 = (unsigned long long)json_integer_value(
            json_object_get(json_object_get(caches, "32K:2:64"), "misses"));
        unsigned long long mf = (unsigned long long)json_integer_value(
            json_object_get(json_object_get(caches, "32K:0:64"), "misses"));
        double lru = json_number_value(json_object_get(json_object_get(j, "lru_miss_ratio"), "32768"));
        CHECK_MSG(rec == traced, "trace has %llu records, the plugin wrote %llu", rec, traced);
        CHECK_MSG(m2 == l1d_miss, "replayed L1D misses %llu, online model %llu", m2, l1d_miss);
        /* equal but for the accesses that cross a line (the replay looks up both lines, the histogram the first) */
        unsigned long long crossing = (unsigned long long)json_integer_value(json_object_get(j, "crossing"));
        CHECK_MSG(rec && fabs((double)mf - lru * (double)rec) <= (double)crossing + 0.5,
                  "fully associative %llu/%llu vs histogram %g (%llu crossing)", mf, rec, lru, crossing);
        printf("trace: %llu accesses over %llu instructions; L1D misses online %llu = replayed %llu; fully "
               "associative 32K miss ratio %.4f%% = reuse histogram %.4f%%; file %.2f bytes/access\n",
               traced, insns, l1d_miss, m2, 100.0 * (double)mf / (double)(rec ? rec : 1), 100 * lru,
               (double)file_size(tr) / (double)(traced ? traced : 1));
        json_decref(j);
        /* the model's rows add up to the window; every row but the last is one interval */
        char *csv = read_file(csvp, NULL);
        unsigned long long sum_insns = 0, rows = 0, bad_rows = 0, sum_l1d = 0;
        for (char *save = NULL, *l = csv ? strtok_r(csv, "\n", &save) : NULL; l; l = strtok_r(NULL, "\n", &save)) {
            unsigned long long iv, st, n;
            if (sscanf(l, "%llu,%llu,%llu", &iv, &st, &n) != 3)
                continue;
            /* column 12: l1d_access (interval, start, insns, 7 classes, l1i x2, then l1d) */
            char *c = l;
            for (int k = 0; k < 12 && c; k++)
                c = strchr(c, ',') ? strchr(c, ',') + 1 : NULL;
            unsigned long long la = c ? strtoull(c, NULL, 10) : 0;
            sum_l1d += la;
            sum_insns += n;
            rows++;
            if (n + 2048 < 2000000 || n > 2000000 + 2048)
                bad_rows++;
        }
        CHECK_MSG(sum_insns == insns, "model rows add up to %llu instructions, window %llu", sum_insns, insns);
        CHECK_MSG(sum_l1d == l1d_acc, "model rows add up to %llu L1D accesses, total %llu", sum_l1d, l1d_acc);
        CHECK_MSG(rows >= 2 && bad_rows <= 1, "%llu rows, %llu not one interval long", rows, bad_rows);
        free(csv);
        free(sum);
    } else if (!strcmp(argv[1], "geometry")) {
        /* profile --model takes the model's geometry as trace record does: a
         * 1 KiB direct-mapped L1D misses far more than the default 32 KiB */
        unsigned long long miss[2] = {0, 0};
        for (int g = 0; g < 2; g++) {
            char *pg = xasprintf("%s-%d", prefix, g), *cp = xasprintf("%s-%d.0.model.csv", prefix, g);
            const char *pa[] = {"profile", "--out", pg, "--interval", "2000000", "--model", "--roi",
                                "--deterministic", "--append", "ffwd.root=none", "--cmd",
                                "ffwd-guest roi-begin; ffwd-matmul 96; ffwd-guest roi-end",
                                g ? "--l1d" : NULL, "1K:1:64", NULL};
            sbuf_free(&o);
            CHECK_MSG(ffwd(&o, pa) == 0, "%s", o.s);
            char *csv = read_file(cp, NULL);
            CHECK_MSG(csv != NULL, "no %s", cp);
            /* the l1d_miss column, found by its name in the header */
            int col = -1;
            for (char *s1 = NULL, *l = csv ? strtok_r(csv, "\n", &s1) : NULL; l; l = strtok_r(NULL, "\n", &s1)) {
                if (!isdigit((unsigned char)l[0])) {
                    int k = 0;
                    for (char *f = l; f; f = strchr(f, ',') ? strchr(f, ',') + 1 : NULL, k++)
                        if (!strncmp(f, "l1d_miss", 8) && (f[8] == ',' || !f[8]))
                            col = k;
                    continue;
                }
                char *f = l;
                for (int k = 0; k < col && f; k++)
                    f = strchr(f, ',') ? strchr(f, ',') + 1 : NULL;
                if (f && col >= 0)
                    miss[g] += strtoull(f, NULL, 10);
            }
            CHECK_MSG(col > 0, "%s: no l1d_miss column", cp);
            free(csv), free(cp), free(pg);
        }
        printf("profile --model: L1D misses %llu with the default geometry, %llu with --l1d 1K:1:64\n", miss[0],
               miss[1]);
        CHECK_MSG(miss[0] > 0 && miss[1] > 2 * miss[0], "L1D misses %llu (default) vs %llu (1K:1:64)", miss[0], miss[1]);
        sbuf_free(&o);
        const char *b1[] = {"profile", "--out", prefix, "--l1d", "32K:8:64", "--cmd", "true", NULL};
        CHECK(ffwd(&o, b1) != 0);
        CHECK_STR_HAS(o.s, "give --model too");
    } else if (!strcmp(argv[1], "window")) {
        /* --from/--to: the window holds to - from instructions (whole blocks) */
        const char *ra[] = {"trace", "record", "--out", prefix, "--from", "1000000000", "--to", "1003000000",
                            "--no-trace", "--model", "--deterministic", "--append", "ffwd.root=none", "--cmd",
                            "ffwd-matmul 128", NULL};
        CHECK_MSG(ffwd(&o, ra) == 0, "%s", o.s);
        char *sum = read_file(sump, NULL);
        unsigned long long insns = 0;
        if (sum)
            sscanf(sum, "vcpu 0: %llu instructions in the window", &insns);
        CHECK_MSG(insns + 1024 > 3000000 && insns < 3000000 + 1024, "window of %llu instructions", insns);
        CHECK(!path_exists(tr)); /* --no-trace */
        free(sum);
        /* bad input */
        sbuf_free(&o);
        const char *b1[] = {"trace", "record", "--out", prefix, "--model", "--l1d", "32K:3:48", "--cmd", "true", NULL};
        CHECK(ffwd(&o, b1) != 0);
        CHECK_STR_HAS(o.s, "l1d");
        sbuf_free(&o);
        const char *b2[] = {"trace", "stats", sump, NULL};
        CHECK(ffwd(&o, b2) != 0);
        CHECK_STR_HAS(o.s, "not an ffwd memory trace");
        sbuf_free(&o);
        const char *b3[] = {"trace", "record", "--out", prefix, "--no-trace", "--cmd", "true", NULL};
        CHECK(ffwd(&o, b3) != 0);
        CHECK_STR_HAS(o.s, "records nothing");
    } else if (!strcmp(argv[1], "estimate")) {
        /* ffwd estimate end to end on files with a known answer: CPI = 0.5 + 10 x L1D
         * misses/insn + 100 x L2 misses/insn; 10 intervals calibrate, 10 are held out */
        struct sbuf csv = {0}, man = {0}, res = {0}, man2 = {0}, res2 = {0};
        sbuf_addf(&csv, "interval,start,insns,alu,muldiv,fpsimd,load,store,branch,other,l1i_access,l1i_miss,"
                        "l1d_access,l1d_miss,l2_access,l2_miss,llc_access,llc_miss,itlb_access,itlb_miss,"
                        "dtlb_access,dtlb_miss\n");
        double cyc = 0, ins = 0;
        unsigned long long sd = 5;
        for (int i = 0; i < 20; i++) {
            unsigned long long r4[4]; /* independent draws: collinear features would make the fit ambiguous */
            for (int k = 0; k < 4; k++)
                r4[k] = (sd = sd * 6364136223846793005ULL + 1442695040888963407ULL) >> 33;
            unsigned long long n = 1000000 + r4[0] % 1000000, l1 = 2000 + r4[1] % 50000, l2 = 100 + r4[2] % 5000;
            unsigned long long br = 100000 + r4[3] % 100000;
            double cpi = 0.5 + 10.0 * (double)l1 / (double)n + 100.0 * (double)l2 / (double)n;
            cyc += cpi * (double)n;
            ins += (double)n;
            sbuf_addf(&csv, "%d,0,%llu,1,0,0,1,1,%llu,0,1,0,1,%llu,1,%llu,0,0,1,0,1,0\n", i, n, br, l1, l2);
            struct sbuf *m = i < 10 ? &man : &man2, *r = i < 10 ? &res : &res2;
            sbuf_addf(m, "%s{\"index\": %d, \"interval\": %d, \"weight\": 0.1}", m->len ? ", " : "", i, i);
            sbuf_addf(r, "%s{\"index\": %d, \"weight\": 0.1, \"cpi\": %.17g}", r->len ? ", " : "", i, cpi);
        }
        char *ev = xasprintf("%s/ev.csv", dir), *cal = xasprintf("%s/cal.json", dir);
        write_file_atomic(ev, csv.s, csv.len, 0644);
        for (int d = 0; d < 2; d++) {
            char *sd2 = xasprintf("%s/s%d/gem5-o3", dir, d), *mp = xasprintf("%s/s%d/simpoints.json", dir, d),
                 *rp = xasprintf("%s/results.json", sd2);
            mkdir_p(sd2, 0755);
            char *mt = xasprintf("{\"format\": \"ffwd-simpoints\", \"points\": [%s]}", d ? man2.s : man.s);
            char *rt = xasprintf("{\"format\": \"ffwd-simpoint-results\", \"points\": [%s]}", d ? res2.s : res.s);
            write_file_atomic(mp, mt, strlen(mt), 0644);
            write_file_atomic(rp, rt, strlen(rt), 0644);
            free(sd2), free(mp), free(rp), free(mt), free(rt);
        }
        char *s0 = xasprintf("%s/s0", dir), *s1 = xasprintf("%s/s1", dir);
        const char *ea[] = {"estimate", "--events", ev, "--samples", s0, "--holdout", s1, "--save", cal, NULL};
        CHECK_MSG(ffwd(&o, ea) == 0, "%s", o.s);
        CHECK_STR_HAS(o.s, "base 0.5 ");
        CHECK_STR_HAS(o.s, "l1d_miss 10 ");
        CHECK_STR_HAS(o.s, "l2_miss 100");
        CHECK_STR_HAS(o.s, "leave-one-out mean |error| 0.0%");
        CHECK_STR_HAS(o.s, "held out: 10 intervals measured in gem5 and not fitted on: mean |CPI error| 0.0%");
        char want[64];
        snprintf(want, sizeof want, "CPI %.4f", cyc / ins);
        CHECK_STR_HAS(o.s, want); /* the whole run, exactly */
        /* the saved calibration gives the same answer on its own */
        sbuf_free(&o);
        const char *eb[] = {"estimate", "--events", ev, "--calibration", cal, NULL};
        CHECK_MSG(ffwd(&o, eb) == 0, "%s", o.s);
        CHECK_STR_HAS(o.s, want);
        /* --json: the same answer, parsed */
        const char *ej[] = {"estimate", "--events", ev, "--calibration", cal, "--json", NULL};
        int jrc;
        json_t *j = ffwd_json(ej, &jrc);
        CHECK_MSG(jrc == 0 && j, "estimate --json: exit %d", jrc);
        CHECK(j && !strcmp(json_string_value(json_object_get(j, "command")), "estimate") &&
              fabs(json_number_value(json_object_get(j, "cpi")) - cyc / ins) < 1e-4 &&
              fabs(json_number_value(json_object_get(json_object_get(j, "weights"), "l2_miss")) - 100) < 0.01);
        json_decref(j);
        /* the results of sample-run --config USER.py (DIR/gem5-USER-CPU) */
        sbuf_free(&o);
        char *r0 = xasprintf("%s/s0/gem5-o3", dir), *r1 = xasprintf("%s/s0/gem5-my_board-o3", dir);
        CHECK(rename(r0, r1) == 0);
        const char *ef[] = {"estimate", "--events", ev, "--samples", s0, "--config", "/somewhere/my_board.py", NULL};
        CHECK_MSG(ffwd(&o, ef) == 0, "%s", o.s);
        CHECK_STR_HAS(o.s, "l1d_miss 10 ");
        sbuf_free(&o);
        const char *eg[] = {"estimate", "--events", ev, "--samples", s0, NULL};
        CHECK(ffwd(&o, eg) != 0);
        CHECK_STR_HAS(o.s, "gem5-o3/results.json");
        free(r0), free(r1);
        /* errors name the file */
        sbuf_free(&o);
        const char *ec[] = {"estimate", "--events", ev, "--calibration", ev, NULL};
        CHECK(ffwd(&o, ec) != 0);
        CHECK_STR_HAS(o.s, "ev.csv");
        sbuf_free(&o);
        const char *ed[] = {"estimate", "--events", cal, "--samples", s0, NULL};
        CHECK(ffwd(&o, ed) != 0);
        CHECK_STR_HAS(o.s, "cal.json:1");
        sbuf_free(&csv), sbuf_free(&man), sbuf_free(&res), sbuf_free(&man2), sbuf_free(&res2);
        free(ev), free(cal), free(s0), free(s1);
    } else
        return 2;
    sbuf_free(&o);
    rm_rf(dir);
    free(dir);
    free(prefix);
    free(tr);
    free(csvp);
    free(sump);
    return test_done();
}
