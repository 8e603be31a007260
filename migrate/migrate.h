/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The migration runner: applies a MigrationSet (migration.h) to a PostgreSQL database over a
 * blocking libpq connection that the caller opens and owns.
 *
 * State lives in schema stopstart_meta, apart from the application schema "stopstart", so
 * `reset` can drop the latter and keep the history:
 *   stopstart_meta.schema_version  one row per applied (or dirty) migration: version, name,
 *                                  checksum_up/down, state applied|dirty, applied_at/by,
 *                                  execution_ms, tool_version
 *   stopstart_meta.schema_log      append-only events: upgrade downgrade fail stamp fix restore
 *                                  reset, with times, success, error text, actor, host, db user
 *   stopstart_meta.layout          the layout version of these tables (1)
 * Read-only calls never create them; a database without them is "nothing applied".
 *
 * Each migration runs in one transaction that also writes its version row and log event, with
 * SET LOCAL lock_timeout; a failure rolls it back and logs a `fail` event in a second, short
 * transaction. Migrations with the no-transaction header option run statement by statement
 * outside a transaction, bracketed by a dirty row; only they can leave a dirty row behind.
 * While a row is dirty, every mutating call except migrator_fix_state() refuses with -EUCLEAN.
 *
 * Mutating calls must hold the session-level advisory lock (migrator_lock()), which serialises
 * runners on the same database for the whole run: keys (MIGRATE_LOCK_KEY1, MIGRATE_LOCK_KEY2)
 * in pg_locks (classid, objid, objsubid 2).
 *
 * Errors are negative errno values; the one-line (sometimes followed by indented DETAIL/HINT
 * lines) human message of the last failure is migrator_error():
 *   -EUCLEAN   refused: the database's state forbids the operation (dirty, changed or
 *              missing migrations, out of order, backup newer than head, newer meta layout)
 *   -EBUSY     the advisory lock was not obtained within the lock timeout
 *   -EIO       a migration, verify script, or pg_dump/pg_restore failed (rolled back)
 *   -EINVAL    a target or argument that makes no sense ("+3" with two pending, ...)
 *   -ENOENT    a named version is not in the set / not recorded / a file does not exist
 *   -ECONNRESET the connection broke
 * Library code logs at debug level only. */

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#include "macro.h"
#include "migration.h"
#include "schema-describe.h"
#include "string-table.h"

#define MIGRATE_APP_SCHEMA "stopstart"
#define MIGRATE_META_SCHEMA "stopstart_meta"
#define MIGRATE_META_LAYOUT 1
/* pg_advisory_lock(int4, int4): "SSTP", and FNV-1a-32 of MIGRATE_META_SCHEMA with the top bit cleared. */
#define MIGRATE_LOCK_KEY1 0x53535450
#define MIGRATE_LOCK_KEY2 0x4520d4a5

typedef enum MigrationState {
        MIGRATION_STATE_APPLIED,
        MIGRATION_STATE_DIRTY,
        MIGRATION_STATE_PENDING,    /* in the set, not recorded */
        MIGRATION_STATE_MISSING,    /* recorded, not in the set */
        _MIGRATION_STATE_MAX,
        _MIGRATION_STATE_INVALID = -EINVAL,
} MigrationState;
DECLARE_STRING_TABLE_LOOKUP(migration_state, MigrationState);

typedef enum MigrateEvent {
        MIGRATE_EVENT_UPGRADE,
        MIGRATE_EVENT_DOWNGRADE,
        MIGRATE_EVENT_FAIL,
        MIGRATE_EVENT_STAMP,
        MIGRATE_EVENT_FIX,
        MIGRATE_EVENT_RESTORE,
        MIGRATE_EVENT_RESET,
        _MIGRATE_EVENT_MAX,
        _MIGRATE_EVENT_INVALID = -EINVAL,
} MigrateEvent;
DECLARE_STRING_TABLE_LOOKUP(migrate_event, MigrateEvent);

typedef enum MigrateProblemKind {
        MIGRATE_PROBLEM_DIRTY,          /* a dirty row */
        MIGRATE_PROBLEM_CHECKSUM,       /* an applied migration's up or down script changed */
        MIGRATE_PROBLEM_RENAMED,        /* an applied migration's name changed */
        MIGRATE_PROBLEM_MISSING,        /* applied, not in the set (the database is ahead) */
        MIGRATE_PROBLEM_OUT_OF_ORDER,   /* pending, numbered below the highest applied */
        MIGRATE_PROBLEM_PENDING,        /* pending (the database is behind head) */
        MIGRATE_PROBLEM_VERIFY,         /* a verify script raised */
        MIGRATE_PROBLEM_DRIFT,          /* the live schema differs from what the migrations define */
        MIGRATE_PROBLEM_UNDECLARED,     /* head differs from the declared schema (schema.sql) */
        _MIGRATE_PROBLEM_KIND_MAX,
        _MIGRATE_PROBLEM_KIND_INVALID = -EINVAL,
} MigrateProblemKind;
DECLARE_STRING_TABLE_LOOKUP(migrate_problem_kind, MigrateProblemKind);

typedef enum MigrateDriftMethod {
        MIGRATE_DRIFT_NONE,             /* not compared */
        MIGRATE_DRIFT_SCRATCH,          /* against the migrations built in a scratch database */
        MIGRATE_DRIFT_SNAPSHOT,         /* against the set's schema.snapshot */
        _MIGRATE_DRIFT_METHOD_MAX,
        _MIGRATE_DRIFT_METHOD_INVALID = -EINVAL,
} MigrateDriftMethod;
DECLARE_STRING_TABLE_LOOKUP(migrate_drift_method, MigrateDriftMethod);

typedef enum MigrateCheckFlags {
        MIGRATE_CHECK_VERIFY           = 1 << 0,  /* run verify scripts, in transactions rolled back */
        MIGRATE_CHECK_DRIFT_SCRATCH    = 1 << 1,  /* may CREATE DATABASE a scratch copy (dropped after) */
        MIGRATE_CHECK_DRIFT_SNAPSHOT   = 1 << 2,  /* may compare with the snapshot (at head only) */
        MIGRATE_CHECK_ALL              = MIGRATE_CHECK_VERIFY | MIGRATE_CHECK_DRIFT_SCRATCH | MIGRATE_CHECK_DRIFT_SNAPSHOT,
} MigrateCheckFlags;

typedef enum MigrateFix {
        MIGRATE_FIX_MARK_APPLIED,       /* record N as applied with the set's checksums */
        MIGRATE_FIX_MARK_REVERTED,      /* delete N's row */
        MIGRATE_FIX_STAMP,              /* exactly the set's migrations <= N recorded; runs nothing */
        MIGRATE_FIX_REALIGN_CHECKSUMS,  /* recorded checksums and names := the set's */
        MIGRATE_FIX_FORGET_MISSING,     /* delete rows of migrations not in the set */
        _MIGRATE_FIX_MAX,
        _MIGRATE_FIX_INVALID = -EINVAL,
} MigrateFix;
DECLARE_STRING_TABLE_LOOKUP(migrate_fix, MigrateFix);

typedef struct MigrationRecord {
        unsigned version;
        char *name;
        char *checksum_up;
        char *checksum_down;
        MigrationState state;           /* APPLIED or DIRTY */
        char *applied_at;               /* ISO 8601 UTC, "2026-11-23T12:00:00.123Z" */
        char *applied_by;
        int64_t execution_ms;           /* -1: unknown */
        char *tool_version;
} MigrationRecord;

typedef struct MigrateStatus {
        bool initialized;               /* stopstart_meta exists */
        MigrationRecord *records;       /* ascending by version */
        size_t n_records;
        unsigned current;               /* highest applied version, 0 = base */
        unsigned dirty;                 /* lowest dirty version, 0 = none */
} MigrateStatus;

typedef struct MigrateLogEntry {
        int64_t id;
        unsigned version;               /* 0: none */
        MigrateEvent event;
        char *checksum;                 /* NULL if none */
        char *started_at, *finished_at;
        bool success;
        char *error;                    /* NULL if none */
        char *detail;                   /* NULL if none */
        char *actor, *host, *db_user, *tool_version;
} MigrateLogEntry;

typedef struct MigrateProblem {
        MigrateProblemKind kind;
        unsigned version;               /* 0 if not about one migration */
        char *message;
} MigrateProblem;

/* At most this many drift problems are listed, then one "… and N more". */
#define MIGRATE_CHECK_MAX_DRIFT 20

typedef struct MigrateCheck {
        MigrateProblem *problems;
        size_t n_problems;
        unsigned current, head;
        size_t n_applied, n_pending;
        MigrateDriftMethod drift_method;
        char *drift_note;               /* why drift was not compared, or NULL */
} MigrateCheck;

typedef struct MigrateDiff {
        SchemaDescription *expected, *actual;
        SchemaDifference *differences;  /* point into expected/actual */
        size_t n_differences;
        MigrateDriftMethod method;
        unsigned version;               /* the version whose schema was expected */
} MigrateDiff;

typedef struct MigrateBackupInfo {
        char *file;                     /* the dump; the sidecar is file + ".json" */
        unsigned schema_version;
        char *schema_name;              /* NULL at base */
        char *schema_checksum;          /* up checksum of schema_version's migration, or NULL */
        unsigned head_version;          /* head of the set that wrote the backup */
        char *head_checksum;
        bool dirty;
        char *tool_version;
        char *created_at;
        char *database;
        char *server_version;
        uint64_t size;                  /* of the dump; set by migrate_backup_list() only */
} MigrateBackupInfo;

typedef enum MigrateProgressKind {
        MIGRATE_PROGRESS_LOCK_WAIT,     /* waiting for the advisory lock; holder_pid set (0 if unknown) */
        MIGRATE_PROGRESS_APPLIED,       /* migration applied: version, name, execution_ms */
        MIGRATE_PROGRESS_REVERTED,      /* migration reverted */
        MIGRATE_PROGRESS_CHANGED,       /* fix-state/stamp/reset/restore changed something: text */
} MigrateProgressKind;

typedef struct MigrateProgress {
        MigrateProgressKind kind;
        unsigned version;
        const char *name;
        int64_t execution_ms;
        int holder_pid;
        const char *text;
} MigrateProgress;

/* What a downgrade would do (migrator_downgrade_plan()). */
typedef struct MigrateDowngradePlan {
        unsigned before, after;         /* current version now and afterwards (0 = base) */
        size_t n_revert;                /* migrations reverted */
        unsigned first_reverted;        /* the newest reverted (reverted first), 0 if none */
        unsigned last_reverted;         /* the oldest reverted, 0 if none */
} MigrateDowngradePlan;

typedef struct Migrator Migrator;
typedef void (*migrate_progress_t)(Migrator *m, const MigrateProgress *p, void *userdata);

/* conn and set are borrowed and must outlive the Migrator. Installs no notice processor: the
 * caller decides what to do with server NOTICEs. */
int migrator_new(PGconn *conn, const MigrationSet *set, Migrator **ret);
Migrator *migrator_free(Migrator *m);
DEFINE_TRIVIAL_CLEANUP_FUNC(Migrator*, migrator_free);

void migrator_set_progress(Migrator *m, migrate_progress_t fn, void *userdata);
/* Bounds the wait for the advisory lock and, via SET LOCAL lock_timeout, each migration's
 * waits for table locks. 0: do not wait at all for the advisory lock; no DDL lock timeout. */
void migrator_set_lock_timeout(Migrator *m, uint64_t usec);
/* Recorded as applied_by/actor and host; defaults: the user name of the effective uid, and
 * gethostname(). */
int migrator_set_actor(Migrator *m, const char *actor, const char *host);

/* The message of the last failure ("" if none). */
const char *migrator_error(const Migrator *m);

/* Takes the session-level advisory lock, waiting up to the lock timeout. A waiter polls with
 * pg_try_advisory_lock() every 100 ms instead of blocking in pg_advisory_lock(): a blocked
 * statement holds a transaction open, which the holder's CREATE INDEX CONCURRENTLY would wait
 * for (a deadlock). */
int migrator_lock(Migrator *m);

/* Read-only. */
int migrator_status(Migrator *m, MigrateStatus **ret);
int migrator_log(Migrator *m, MigrateLogEntry **ret, size_t *ret_n);
int migrator_check(Migrator *m, MigrateCheckFlags flags, MigrateCheck **ret);
/* Compares the live application schema with the schema the recorded migrations define (scratch
 * database) or, allowed by flags and at head, with the snapshot. -EUCLEAN when neither is
 * possible (message says why). */
int migrator_diff(Migrator *m, MigrateCheckFlags flags, MigrateDiff **ret);
/* What migrator_downgrade(m, target) would do, with the same refusals and target errors, without
 * changing anything (no lock needed; hold it to be sure the plan is what runs). */
int migrator_downgrade_plan(Migrator *m, const char *target, MigrateDowngradePlan *ret);
/* The number of other sessions on this database whose application_name is name. */
int migrator_count_sessions(Migrator *m, const char *application_name, unsigned *ret);
/* Builds the whole set in a scratch database and describes it (for schema.snapshot). */
int migrator_describe_head(Migrator *m, SchemaDescription **ret);
/* Builds the set's declared schema (schema.sql) in a scratch database and describes it; -ENOENT
 * when the set has none. */
int migrator_describe_declared(Migrator *m, SchemaDescription **ret);
/* Head (built in a scratch database) against the declared schema: expected = declared,
 * actual = head. */
int migrator_diff_declared(Migrator *m, MigrateDiff **ret);
/* Autogenerate (schema-autogen.h): the up script moves head to the declared schema (or, with
 * from_live, to the live database's schema), the down script back. *ret_reviews counts the
 * "-- REVIEW:" comments of both. Both scripts are "" when there is nothing to change. */
int migrator_autogenerate(Migrator *m, bool from_live, char **ret_up, char **ret_down, unsigned *ret_reviews);

/* Mutating: take migrator_lock() first. Targets: upgrade "head" (or NULL), "+N", or a version
 * ("3", "0003", "0003_slug"); downgrade "-N" (NULL = "-1"), "base" (or "0"), or a version to
 * keep. Nothing to do is success. */
int migrator_upgrade(Migrator *m, const char *target);
int migrator_downgrade(Migrator *m, const char *target);
/* version is ignored for REALIGN_CHECKSUMS and FORGET_MISSING. Works while dirty. */
int migrator_fix_state(Migrator *m, MigrateFix fix, unsigned version);
/* Drops schema stopstart, clears the version rows (the log stays), logs `reset`, upgrades to head. */
int migrator_reset(Migrator *m);
/* pg_dump -Fc of schemas stopstart and stopstart_meta into path (created exclusively; NULL:
 * "stopstart-DB-NNNN-YYYYMMDDTHHMMSSZ.dump" in the working directory) plus path.json. pg_dump is looked up on $PATH, then in PG_BINDIR_FALLBACK, then the newest
 * /usr/lib/postgresql/N/bin; it connects with the parameters of the Migrator's connection. */
int migrator_backup(Migrator *m, const char *path, MigrateBackupInfo **ret_info);
/* migrator_backup() under the default name in dir, which is created (0700) when missing; a
 * backup of the same second gets "-2", "-3", … */
int migrator_backup_into(Migrator *m, const char *dir, MigrateBackupInfo **ret_info);
/* The backups in dir (dumps with a readable sidecar), newest first; none when dir is missing. */
int migrate_backup_list(const char *dir, MigrateBackupInfo ***ret, size_t *ret_n);
void migrate_backup_list_free(MigrateBackupInfo **l, size_t n);
/* Deletes the backups we named (stopstart-*.dump and sidecar) in dir beyond the newest keep
 * (0: keep all); *ret_removed (if given) gets the files removed. */
int migrate_backup_prune(const char *dir, unsigned keep, char ***ret_removed);
/* Reads path.json (refuses a schema version above the set's head), turns path into SQL with
 * pg_restore, and in one transaction drops both schemas and replays it, keeping the live event
 * log (if there is one) and appending a `restore` event. Run migrator_check() afterwards. */
int migrator_restore(Migrator *m, const char *path, MigrateBackupInfo **ret_info);
/* What migrator_restore() refuses before changing anything (unreadable sidecar or file, a backup
 * newer than head, a dirty database), without changing anything. */
int migrator_restore_check(Migrator *m, const char *path, MigrateBackupInfo **ret_info);

MigrateStatus *migrate_status_free(MigrateStatus *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(MigrateStatus*, migrate_status_free);
void migrate_log_free(MigrateLogEntry *l, size_t n);
MigrateCheck *migrate_check_free(MigrateCheck *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(MigrateCheck*, migrate_check_free);
MigrateDiff *migrate_diff_free(MigrateDiff *d);
DEFINE_TRIVIAL_CLEANUP_FUNC(MigrateDiff*, migrate_diff_free);
MigrateBackupInfo *migrate_backup_info_free(MigrateBackupInfo *i);
DEFINE_TRIVIAL_CLEANUP_FUNC(MigrateBackupInfo*, migrate_backup_info_free);

const MigrationRecord *migrate_status_find(const MigrateStatus *s, unsigned version);

/* Parses "3", "0003" or "0003_slug" (the slug must match) against the set. */
int migrate_parse_version(const MigrationSet *set, const char *s, unsigned *ret);

/* Reads a backup's sidecar, path + ".json". */
int migrate_backup_info_read(const char *backup_path, MigrateBackupInfo **ret, char **error);
