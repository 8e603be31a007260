/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Instance actions as jobs, against the project's fake OCI server (tests/bus/with-fake-oci.py)
 * and a throwaway PostgreSQL: start/stop/reboot reach the server exactly once, SOFTSTOP falls
 * back to STOP, skips, Busy, Cancel, lost answers, and a job resumed after a restart with the
 * same retry token. */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "bus-errors.h"
#include "bus-names.h"
#include "bus-test.h"
#include "instance-action.h"
#include "json-util.h"
#include "log.h"
#include "strv.h"

#define T "ocid1.tenancy.oc1..jobs"
#define C_OPS "ocid1.compartment.oc1..ops"
#define I(name) "ocid1.instance.oc1.phx." name

/* The same tenancy as tests/bus/fake-tenancy.json, as discovery would have stored it. */
static const char fixture[] =
        "INSERT INTO stopstart.compartments (id, parent_id, name, lifecycle_state) VALUES "
        " ('" T "', NULL, 'jobs', 'ACTIVE'), ('" C_OPS "', '" T "', 'ops', 'ACTIVE');"
        "INSERT INTO stopstart.instances (id, compartment_id, region, display_name, lifecycle_state) VALUES "
        " ('" I("softstop") "', '" C_OPS "', 'us-phoenix-1', 'softstop', 'RUNNING'),"
        " ('" I("hang") "', '" C_OPS "', 'us-phoenix-1', 'hang', 'RUNNING'),"
        " ('" I("start") "', '" C_OPS "', 'us-phoenix-1', 'start', 'STOPPED'),"
        " ('" I("running") "', '" C_OPS "', 'us-phoenix-1', 'running', 'STOPPED'),"  /* stale on purpose */
        " ('" I("reboot") "', '" C_OPS "', 'us-phoenix-1', 'reboot', 'RUNNING'),"
        " ('" I("lost") "', '" C_OPS "', 'us-phoenix-1', 'lost', 'RUNNING'),"
        " ('" I("resume") "', '" C_OPS "', 'us-phoenix-1', 'resume', 'RUNNING'),"
        " ('" I("cancel") "', '" C_OPS "', 'us-phoenix-1', 'cancel', 'RUNNING'),"
        " ('" I("gone") "', '" C_OPS "', 'us-phoenix-1', 'gone', 'RUNNING');"
        "INSERT INTO stopstart.regions (name, region_key, is_home) VALUES ('us-phoenix-1', 'PHX', true);";

/* ---- the fake server's control API, through curl ---- */

static char *fake(const char *method, const char *path, const char *body) {
        _cleanup_free_ char *cmd = NULL, *out = NULL;
        size_t size = 0, n;
        char buf[4096];
        FILE *f;

        cmd = strprintf("curl -sS --fail-with-body -X %s %s%s%s '%s/_fake/%s'", method,
                        body ? "-H 'Content-Type: application/json' --data-binary '" : "", strempty(body),
                        body ? "'" : "", getenv("FAKE_OCI_URL"), path);
        ASSERT_NOT_NULL(cmd);
        f = popen(cmd, "r");
        ASSERT_NOT_NULL(f);
        while ((n = fread(buf, 1, sizeof buf, f)) > 0) {
                char *p = realloc(out, size + n + 1);
                ASSERT_NOT_NULL(p);
                out = p;
                memcpy(out + size, buf, n);
                size += n;
                out[size] = 0;
        }
        if (pclose(f) != 0)
                TEST_FAIL("%s failed: %s", cmd, strna(out));
        return out ? TAKE_PTR(out) : strdup("");
}

static long long fake_count(const char *section, const char *instance, const char *action) {
        _cleanup_free_ char *text = fake("GET", "counters", NULL);
        _cleanup_json_ json_object *j = json_tokener_parse(text);
        json_object *s, *i, *a;

        ASSERT_NOT_NULL(j);
        if (!json_object_object_get_ex(j, section, &s) || !json_object_object_get_ex(s, instance, &i))
                return 0;
        if (!action) {
                long long n = 0;
                json_object_object_foreach(i, k, v)
                        n += json_object_get_int64(v);
                (void) k;
                return n;
        }
        return json_object_object_get_ex(i, action, &a) ? json_object_get_int64(a) : 0;
}

#define ACTIONS(inst, action) fake_count("actions", (inst), (action))
#define REPLAYS(inst, action) fake_count("action_replays", (inst), (action))

/* ---- jobs ---- */

static void configure(Config *c) {
        free(c->oci.endpoint);
        c->oci.endpoint = strprintf("%s/{region}", getenv("FAKE_OCI_URL"));
        free(c->oci.config_file);
        c->oci.config_file = strdup(getenv("FAKE_OCI_CONFIG"));
        ASSERT_NOT_NULL(c->oci.endpoint);
        ASSERT_NOT_NULL(c->oci.config_file);
        c->oci.retry_base_delay = 50 * 1000;
        c->oci.retry_max_delay = 200 * 1000;
        c->oci.max_attempts = 5;
        c->oci.request_timeout = 10 * 1000000ULL;
}

static char *start_job(const char *instance, const char *member, const char *mode, const char *expect_error) {
        _cleanup_free_ char *p = instance_path(instance);
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m =
                mode ? call(p, SS_BUS_IFACE_INSTANCE, member, "s", mode) : call(p, SS_BUS_IFACE_INSTANCE, member, NULL);
        const char *job;

        if (expect_error) {
                ASSERT_REPLY_ERROR(m, expect_error);
                return NULL;
        }
        ASSERT_REPLY_OK(m);
        ASSERT_OK(sd_bus_message_read(m, "o", &job));
        return strdup(job);
}

static uint32_t job_id(const char *path) {
        return (uint32_t) strtoul(path + strlen(SS_BUS_PATH_JOB "/"), NULL, 10);
}

/* Waits for JobRemoved; returns the result, checks the Result property says the same. */
static char *wait_job(const char *path, unsigned seconds) {
        char prefix[32];
        uint32_t id = job_id(path);
        Job *j;

        snprintf(prefix, sizeof prefix, "%u ", id);
        RUN_UNTIL_TIMEOUT(signals_count_containing("JobRemoved", SS_BUS_PATH, prefix) == 1, seconds);
        j = manager_get_job(manager, id);
        ASSERT_NOT_NULL(j);
        ASSERT_EQ(j->state, JOB_DONE);
        settle();  /* the rows are written behind the signal */
        _cleanup_free_ char *result = get_string(path, SS_BUS_IFACE_JOB, "Result");
        ASSERT_STREQ(result, job_result_to_string(j->result));
        return strdup(result);
}

static char *instance_state(const char *id) {
        _cleanup_free_ char *p = instance_path(id);
        return get_string(p, SS_BUS_IFACE_INSTANCE, "LifecycleState");
}

/* Journal entries of the jobs, as the journal would get them: their fields, "KEY=value\n" each. */
static char journal[65536];

static int capture_journal(const struct iovec *iov, int n) {
        size_t l = strlen(journal);

        for (int i = 0; i < n; i++)
                l += (size_t) snprintf(journal + l, sizeof journal - l, "%.*s\n", (int) iov[i].iov_len,
                                       (const char *) iov[i].iov_base);
        if (l < sizeof journal - 2)
                strcat(journal, "\n");
        return 0;
}

/* Whether one entry (they are separated by a blank line) holds every one of the fields. */
static bool journal_has(const char * const *fields) {
        _cleanup_free_ char *all = strprintf("\n%s", journal);

        /* each entry as "\nKEY=value\n…KEY=value\n" */
        for (const char *e = all, *end; e && e[1]; e = end ? end + 1 : NULL) {
                end = strstr(e + 1, "\n\n");
                _cleanup_free_ char *entry = end ? strndup(e, (size_t) (end + 1 - e)) : strdup(e);
                bool found = true;

                for (size_t k = 0; found && fields[k]; k++) {
                        _cleanup_free_ char *line = strprintf("\n%s\n", fields[k]);
                        found = strstr(entry, line) != NULL;
                }
                if (found)
                        return true;
        }
        return false;
}

TEST(soft_stop) {
        _cleanup_free_ char *job = NULL, *res = NULL, *st = NULL, *token = NULL, *origin = NULL, *row = NULL,
                            *job_field = NULL;

        /* the job's events carry its journal fields (journalctl STOPSTART_INSTANCE=…) */
        journal[0] = 0;
        log_set_journal_send(capture_journal);
        job = start_job(I("softstop"), "Stop", "soft", NULL);
        ASSERT_EQ(signals_count("JobNew", SS_BUS_PATH, NULL), 1);
        res = wait_job(job, 30);
        log_set_journal_send(NULL);
        ASSERT_STREQ(res, "done");
        job_field = strprintf("STOPSTART_JOB=%u", job_id(job));
        ASSERT_TRUE(journal_has((const char *[]) { job_field, "STOPSTART_INSTANCE=" I("softstop"),
                                                   "STOPSTART_JOB_KIND=stop", "STOPSTART_JOB_RESULT=done",
                                                   "MESSAGE_ID=" SS_MESSAGE_JOB_RESULT, "PRIORITY=6", NULL }));
        /* queued: the same job and instance, no result yet */
        ASSERT_TRUE(journal_has((const char *[]) { job_field, "STOPSTART_INSTANCE=" I("softstop"), NULL }));
        ASSERT_TRUE(!journal_has((const char *[]) { job_field, "STOPSTART_JOB_RESULT=failed", NULL }));
        ASSERT_EQ(ACTIONS(I("softstop"), "SOFTSTOP"), 1);
        ASSERT_EQ(ACTIONS(I("softstop"), NULL), 1);
        st = instance_state(I("softstop"));
        ASSERT_STREQ(st, "STOPPED");

        /* The row was there before the call, with the token derived from its key. */
        origin = strprintf("job:%u", job_id(job));
        ASSERT_OK(action_retry_token(origin, I("softstop"), OCI_ACTION_SOFTSTOP, &token));
        ASSERT_EQ(strlen(token), 64);
        ASSERT_EQ(pg_count("SELECT count(*) FROM stopstart.actions WHERE job_id = %u AND instance_id = '%s' AND "
                           "action = 'SOFTSTOP' AND state = 'confirmed' AND retry_token = '%s' AND attempts = 1 "
                           "AND sent_at IS NOT NULL AND confirmed_at IS NOT NULL AND finished_at IS NOT NULL",
                           job_id(job), I("softstop"), token),
                  1);
        ASSERT_EQ(pg_count("SELECT count(*) FROM stopstart.jobs WHERE id = %u AND kind = 'stop' AND mode = 'soft' "
                           "AND state = 'done' AND result = 'done'", job_id(job)),
                  1);
        row = pg_value("SELECT lifecycle_state FROM stopstart.instances WHERE id = '%s'", I("softstop"));
        ASSERT_STREQ(row, "STOPPED");
}

TEST(start_and_skip) {
        _cleanup_free_ char *job = start_job(I("start"), "Start", NULL, NULL), *res = wait_job(job, 30),
                            *st = instance_state(I("start"));

        ASSERT_STREQ(res, "done");
        ASSERT_STREQ(st, "RUNNING");
        ASSERT_EQ(ACTIONS(I("start"), "START"), 1);

        /* Our record says STOPPED, OCI says RUNNING: OCI wins, nothing is sent. */
        _cleanup_free_ char *job2 = start_job(I("running"), "Start", NULL, NULL), *res2 = wait_job(job2, 30),
                            *err = get_string(job2, SS_BUS_IFACE_JOB, "Error"), *st2 = instance_state(I("running"));
        ASSERT_STREQ(res2, "skipped");
        ASSERT_STREQ(err, "Already RUNNING.");
        ASSERT_STREQ(st2, "RUNNING");
        ASSERT_EQ(ACTIONS(I("running"), NULL), 0);
        ASSERT_EQ(pg_count("SELECT count(*) FROM stopstart.actions WHERE instance_id = '%s'", I("running")), 0);

        /* A terminated instance cannot be acted on. */
        _cleanup_free_ char *job3 = start_job(I("gone"), "Start", NULL, NULL), *res3 = wait_job(job3, 30),
                            *err3 = get_string(job3, SS_BUS_IFACE_JOB, "Error");
        ASSERT_STREQ(res3, "failed");
        ASSERT_STREQ(err3, "The instance is TERMINATED.");
}

TEST(softstop_falls_back_to_stop) {
        _cleanup_free_ char *p = instance_path(I("hang")), *job = NULL, *res = NULL, *st = NULL, *body = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        uint64_t t0;

        body = strprintf("{\"lifecycle\": {\"hang_softstop\": [\"%s\"]}}", I("hang"));
        free(fake("POST", "config", body));
        m = call(p, SS_BUS_IFACE_INSTANCE, "SetConfig", "a{sv}", 1, "soft_stop_timeout", "t", (uint64_t) 1500000);
        ASSERT_REPLY_OK(m);

        t0 = manager_now();
        job = start_job(I("hang"), "Stop", "", NULL);  /* the effective stop_mode: soft */
        res = wait_job(job, 60);
        ASSERT_STREQ(res, "done");
        ASSERT_TRUE(manager_now() - t0 >= 1500000);
        ASSERT_EQ(ACTIONS(I("hang"), "SOFTSTOP"), 1);
        ASSERT_EQ(ACTIONS(I("hang"), "STOP"), 1);
        st = instance_state(I("hang"));
        ASSERT_STREQ(st, "STOPPED");
        ASSERT_EQ(pg_count("SELECT count(*) FROM stopstart.actions WHERE job_id = %u AND state = 'confirmed' "
                           "AND action IN ('SOFTSTOP', 'STOP')", job_id(job)),
                  2);
        ASSERT_EQ(pg_count("SELECT count(*) FROM stopstart.actions WHERE job_id = %u AND action = 'STOP' AND "
                           "reason LIKE 'SOFTSTOP did not finish%%'", job_id(job)),
                  1);
        free(fake("POST", "config", "{\"lifecycle\": {\"hang_softstop\": []}}"));
}

TEST(reboot) {
        _cleanup_free_ char *job = start_job(I("reboot"), "Reboot", "hard", NULL), *res = wait_job(job, 30),
                            *st = instance_state(I("reboot"));

        ASSERT_STREQ(res, "done");
        ASSERT_STREQ(st, "RUNNING");
        ASSERT_EQ(ACTIONS(I("reboot"), "RESET"), 1);
        ASSERT_EQ(ACTIONS(I("reboot"), NULL), 1);

        /* Rebooting a stopped instance is skipped. */
        _cleanup_free_ char *job2 = start_job(I("softstop"), "Reboot", "soft", NULL), *res2 = wait_job(job2, 30);
        ASSERT_STREQ(res2, "skipped");
        ASSERT_EQ(ACTIONS(I("softstop"), "SOFTRESET"), 0);
}

TEST(lost_answer_acts_once) {
        _cleanup_free_ char *job = NULL, *res = NULL;

        /* The action is performed, its answer lost: the retry carries the same token. */
        free(fake("POST", "faults", "{\"once\": [{\"operation\": \"InstanceAction\", \"fault\": \"lost\", \"count\": 1}]}"));
        job = start_job(I("lost"), "Stop", "hard", NULL);
        res = wait_job(job, 60);
        ASSERT_STREQ(res, "done");
        ASSERT_EQ(ACTIONS(I("lost"), "STOP"), 1);
        ASSERT_EQ(REPLAYS(I("lost"), "STOP"), 1);
        free(fake("DELETE", "faults", NULL));
}

TEST(busy_and_cancel) {
        _cleanup_free_ char *job = NULL, *res = NULL, *err = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;

        free(fake("POST", "config", "{\"lifecycle\": {\"stop_delay\": 60}}"));
        job = start_job(I("cancel"), "Stop", "hard", NULL);
        RUN_UNTIL(ACTIONS(I("cancel"), "STOP") == 1);

        /* One action job per instance at a time. */
        free(start_job(I("cancel"), "Start", NULL, SS_ERROR_BUSY));

        m = call(job, SS_BUS_IFACE_JOB, "Cancel", NULL);
        ASSERT_REPLY_OK(m);
        res = wait_job(job, 10);
        ASSERT_STREQ(res, "canceled");
        err = get_string(job, SS_BUS_IFACE_JOB, "Error");
        ASSERT_TRUE(startswith(err, "Canceled by ") != NULL);
        ASSERT_EQ(pg_count("SELECT count(*) FROM stopstart.audit_log WHERE operation = 'cancel' AND "
                           "object_kind = 'job' AND object_id = '%u'", job_id(job)),
                  1);
        sd_bus_message_unref(m);
        m = call(job, SS_BUS_IFACE_JOB, "Cancel", NULL);
        ASSERT_REPLY_ERROR(m, SS_ERROR_NO_SUCH_JOB);

        /* Free again: a new job may start (once the stop we let go of has ended). */
        free(fake("POST", "config", "{\"lifecycle\": {\"stop_delay\": 0.3}}"));
        free(fake("PATCH", "instances/" I("cancel"), "{\"lifecycleState\": \"STOPPED\"}"));
        _cleanup_free_ char *job2 = start_job(I("cancel"), "Start", NULL, NULL), *res2 = wait_job(job2, 60);
        ASSERT_STREQ(res2, "done");
        ASSERT_EQ(ACTIONS(I("cancel"), "START"), 1);
}

TEST(resume_after_restart) {
        _cleanup_free_ char *job = NULL, *res = NULL, *path = NULL;
        uint32_t id;

        /* Every answer lost: the action is performed once, then replayed, never answered. */
        free(fake("POST", "faults", "{\"operations\": {\"InstanceAction\": {\"rate_lost\": 1}}}"));
        job = start_job(I("resume"), "Stop", "hard", NULL);
        id = job_id(job);
        RUN_UNTIL(ACTIONS(I("resume"), "STOP") == 1);

        /* The daemon goes away with the job unfinished and its action sent. */
        manager_stop();
        ASSERT_EQ(pg_count("SELECT count(*) FROM stopstart.jobs WHERE id = %u AND state = 'running'", id), 1);
        ASSERT_EQ(pg_count("SELECT count(*) FROM stopstart.actions WHERE job_id = %u AND state = 'sent'", id), 1);
        free(fake("DELETE", "faults", NULL));

        /* A new daemon finds it, publishes it and finishes it without acting again. */
        manager_start();
        path = strprintf(SS_BUS_PATH_JOB "/%u", id);
        ASSERT_NOT_NULL(manager_get_job(manager, id));
        res = wait_job(path, 60);
        ASSERT_STREQ(res, "done");
        ASSERT_EQ(ACTIONS(I("resume"), "STOP"), 1);
        ASSERT_EQ(pg_count("SELECT count(*) FROM stopstart.jobs WHERE id = %u AND state = 'done' AND result = 'done'",
                           id),
                  1);
}

TEST(refresh_discovers) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        _cleanup_free_ char *job = NULL, *res = NULL, *p_new = instance_path(I("new")), *st = NULL, *name = NULL;
        const char *o;

        free(fake("POST", "instances", "{\"id\": \"" I("new") "\", \"compartmentId\": \"" C_OPS "\", "
                  "\"displayName\": \"new-one\", \"lifecycleState\": \"RUNNING\", \"region\": \"us-phoenix-1\"}"));
        free(fake("PATCH", "instances/" I("reboot"), "{\"displayName\": \"rebooted\", \"lifecycleState\": \"STOPPED\"}"));
        ASSERT_EQ(get_u64(SS_BUS_PATH, SS_BUS_IFACE_MANAGER, "LastRefresh"), 0);

        signals_reset();
        m = call(SS_BUS_PATH, SS_BUS_IFACE_MANAGER, "Refresh", NULL);
        ASSERT_REPLY_OK(m);
        ASSERT_OK(sd_bus_message_read(m, "o", &o));
        job = strdup(o);
        res = wait_job(job, 120);
        ASSERT_STREQ(res, "done");

        /* What OCI has now is what the bus shows. */
        ASSERT_EQ(signals_count("InterfacesAdded", SS_BUS_PATH, p_new), 1);
        name = get_string(p_new, SS_BUS_IFACE_INSTANCE, "DisplayName");
        ASSERT_STREQ(name, "new-one");
        free(name);
        _cleanup_free_ char *p_reboot = instance_path(I("reboot"));
        name = get_string(p_reboot, SS_BUS_IFACE_INSTANCE, "DisplayName");
        ASSERT_STREQ(name, "rebooted");
        st = get_string(p_reboot, SS_BUS_IFACE_INSTANCE, "LifecycleState");
        ASSERT_STREQ(st, "STOPPED");
        ASSERT_TRUE(signals_count_containing("PropertiesChanged", p_reboot, "DisplayName") == 1);
        ASSERT_TRUE(get_u64(SS_BUS_PATH, SS_BUS_IFACE_MANAGER, "LastRefresh") > 0);
        ASSERT_EQ(pg_count("SELECT count(*) FROM stopstart.discovery_runs WHERE result = 'done'"), 1);
        ASSERT_EQ(pg_count("SELECT count(*) FROM stopstart.jobs WHERE id = %u AND result = 'done'", job_id(job)), 1);
}

int main(void) {
        if (!getenv("FAKE_OCI_URL")) {
                fprintf(stderr, "run me through tests/bus/with-fake-oci.py\n");
                return 77;
        }
        harness_configure = configure;
        harness_job_linger_usec = 60 * 1000000ULL;
        harness_start(fixture);

        RUN(soft_stop);
        RUN(start_and_skip);
        RUN(softstop_falls_back_to_stop);
        RUN(reboot);
        RUN(lost_answer_acts_once);
        RUN(busy_and_cancel);
        RUN(resume_after_restart);
        RUN(refresh_discovers);

        harness_stop();
        return 0;
}
