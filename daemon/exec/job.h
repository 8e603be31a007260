/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Jobs: long-running operations (manual start/stop/reboot of one instance, refresh), one row in
 * stopstart.jobs each, published as …/job/<id> while they run and for a while after: their queue,
 * lifecycle, results, persistence and journal fields. What a start/stop/reboot job does is
 * instance-action.h's. */

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

#include "instance-config.h"
#include "log.h"
#include "oci-model.h"
#include "string-table.h"

typedef struct Manager Manager;
typedef struct Job Job;

typedef enum JobKind {
        JOB_START,
        JOB_STOP,
        JOB_REBOOT,
        JOB_REFRESH,
        JOB_OCCURRENCE,         /* a schedule's occurrence, driven by the scheduler (exec/occurrence.h) */
        _JOB_KIND_MAX,
        _JOB_KIND_INVALID = -EINVAL,
} JobKind;

typedef enum JobState {
        JOB_WAITING,
        JOB_RUNNING,
        JOB_DONE,
        _JOB_STATE_MAX,
        _JOB_STATE_INVALID = -EINVAL,
} JobState;

typedef enum JobResult {
        JOB_RESULT_NONE,        /* "" until done */
        JOB_RESULT_DONE,
        JOB_RESULT_FAILED,
        JOB_RESULT_CANCELED,
        JOB_RESULT_SKIPPED,
        JOB_RESULT_TIMEOUT,
        _JOB_RESULT_MAX,
        _JOB_RESULT_INVALID = -EINVAL,
} JobResult;

DECLARE_STRING_TABLE_LOOKUP(job_kind, JobKind);
DECLARE_STRING_TABLE_LOOKUP(job_state, JobState);
DECLARE_STRING_TABLE_LOOKUP(job_result, JobResult);

typedef enum JobProp {
        JOB_PROP_STATE    = 1U << 0,
        JOB_PROP_PROGRESS = 1U << 1,
        JOB_PROP_RESULT   = 1U << 2,
        JOB_PROP_ERROR    = 1U << 3,
        JOB_PROP_ADDED    = 1U << 31,
} JobProp;

typedef struct RefreshRun RefreshRun;
typedef struct InstanceActionRun InstanceActionRun;

struct Job {
        Manager *manager;
        uint32_t id;
        JobKind kind;
        char *target;                   /* instance OCID; "" for refresh */
        StopMode mode;                  /* stop and reboot */
        JobState state;
        JobResult result;
        double progress;
        char *error;                    /* why it failed, was skipped or canceled */
        uid_t uid;
        bool resumed;                   /* found unfinished at start-up */

        RefreshRun *refresh;            /* refresh: the discovery in flight */
        InstanceActionRun *action;      /* start/stop/reboot: the action in flight (instance-action.h) */
        sd_event_source *linger;        /* removes the finished job */

        uint32_t dirty;
        LIST_ENTRY(Job) dirty_link;
};

/* MESSAGE_ID= of a job's result in the journal (README "Journal"), with STOPSTART_JOB=,
 * STOPSTART_JOB_KIND=, STOPSTART_JOB_RESULT= and, for an instance's job, STOPSTART_INSTANCE=. */
#define SS_MESSAGE_JOB_RESULT "fa55d68c4b3b488b9ea67d86b706d823"

/* A job's events carry its journal fields: journalctl STOPSTART_JOB=17, or STOPSTART_INSTANCE=OCID
 * for everything about an instance. */
typedef struct JobLogFields {
        char job[32], kind[48], result[48], instance[320], message_id[48];
        const char *list[6];
} JobLogFields;
const char * const *job_log_fields(const Job *j, const char *message_id, JobLogFields *f);
#define log_job(level, j, message_id, ...)                                                      \
        do {                                                                                    \
                JobLogFields _f_;                                                               \
                log_fields((level), job_log_fields((j), (message_id), &_f_), __VA_ARGS__);      \
        } while (0)

/* Creates the job object (its row exists already) and adds it to the manager. */
int job_new(Manager *m, uint32_t id, JobKind kind, const char *target, Job **ret);
Job *job_free(Job *j);
Job *manager_get_job(Manager *m, uint32_t id);

/* Inserts the row (with its audit entry), then creates the object, announces it (JobNew) and
 * starts it. The handler gets the job or an error: -ENOTCONN when the database is away. */
typedef void (*job_created_handler_t)(Manager *m, Job *j, int error, void *userdata);
int job_create(Manager *m, JobKind kind, const char *target, StopMode mode, uid_t uid,
               job_created_handler_t handler, void *userdata);

/* Begins executing. An occurrence job only goes to "running": the scheduler drives it, with
 * job_update_progress() and job_finish(). */
int job_start(Job *j);
/* Announces and persists a state short of done (job_finish() ends a job). */
void job_set_state(Job *j, JobState state);
void job_update_progress(Job *j, double progress);
/* Stops tracking the job: it ends with result "canceled". An action already sent to OCI
 * cannot be taken back. */
int job_cancel(Job *j, uid_t uid);
/* Ends the job: state done, the result persisted, JobRemoved sent, the object removed later. */
void job_finish(Job *j, JobResult result, const char *error);

void job_mark_dirty(Job *j, uint32_t props);
/* Describe() element of one job. */
json_object *job_to_json(Job *j);
char *job_bus_path(const Job *j);
/* Before freeing a job: its removal from the bus is announced (unless its addition never was). */
void job_mark_removed(Job *j);

/* Resumes the jobs left unfinished by an earlier run or another daemon (at start-up, and when
 * this daemon becomes the leader). Jobs on the bus already are left alone. */
int manager_resume_jobs(Manager *m);
/* Drops every unfinished job from memory and the bus (JobRemoved, result canceled with why)
 * without writing anything: its rows stay unfinished for the leader that resumes them. For a
 * daemon that stopped leading. */
void manager_abandon_jobs(Manager *m, const char *why);
/* The same for one job. */
void job_abandon(Job *j, const char *why);
