/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Repairing the records (fix-state, stamp) and reset. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "migrate-internal.h"
#include "pq-util.h"
#include "strv.h"

static int fix_commit(Migrator *m) {
        return migrator_exec(m, "Cannot commit", "COMMIT", 0, NULL, NULL);
}

int migrator_fix_state(Migrator *m, MigrateFix fix, unsigned version) {
        _cleanup_(migrate_status_freep) MigrateStatus *st = NULL;
        const Migration *mig = NULL;
        const MigrationRecord *rec;
        char v[16];
        int r;

        assert(m);
        assert(m->locked);

        r = migrator_bootstrap(m);
        if (r < 0)
                return r;
        r = migrator_status(m, &st);
        if (r < 0)
                return r;

        snprintf(v, sizeof v, "%u", version);
        if (fix == MIGRATE_FIX_MARK_APPLIED || fix == MIGRATE_FIX_MARK_REVERTED || fix == MIGRATE_FIX_STAMP) {
                mig = migration_set_find(m->set, version);
                if (!mig && !(fix == MIGRATE_FIX_STAMP && version == 0) &&
                    !(fix == MIGRATE_FIX_MARK_REVERTED && migrate_status_find(st, version)))
                        return migrator_fail(m, -ENOENT, "No migration %04u in this build (head is %04u).", version,
                                             migration_set_head(m->set));
        }
        rec = migrate_status_find(st, version);

        r = migrator_exec(m, "Cannot begin a transaction", "BEGIN", 0, NULL, NULL);
        if (r < 0)
                return r;

        switch (fix) {

        case MIGRATE_FIX_MARK_APPLIED: {
                _cleanup_free_ char *detail = NULL, *text = NULL;
                if (rec && rec->state == MIGRATION_STATE_APPLIED &&
                    streq(rec->checksum_up, mig->scripts[MIGRATION_UP].checksum) &&
                    streq(rec->checksum_down, mig->scripts[MIGRATION_DOWN].checksum) && streq(rec->name, mig->name)) {
                        migrator_rollback_quietly(m->conn);
                        migrator_progress(m, MIGRATE_PROGRESS_CHANGED, version, mig->name, -1,
                                          "already recorded as applied; nothing changed");
                        return 0;
                }
                detail = strprintf("mark-applied (was %s)", !rec ? "not recorded" : migration_state_to_string(rec->state));
                if (!detail)
                        return -ENOMEM;
                r = migrator_exec(m, "Cannot mark the migration applied",
                                  "INSERT INTO stopstart_meta.schema_version (version, name, checksum_up, checksum_down, state, "
                                  "applied_by, tool_version) VALUES ($1, $2, $3, $4, 'applied', $5, $6) "
                                  "ON CONFLICT (version) DO UPDATE SET state = 'applied', name = EXCLUDED.name, "
                                  "checksum_up = EXCLUDED.checksum_up, checksum_down = EXCLUDED.checksum_down",
                                  6, (const char *[]) { v, mig->name, mig->scripts[MIGRATION_UP].checksum,
                                                        mig->scripts[MIGRATION_DOWN].checksum, m->actor, PROJECT_VERSION },
                                  NULL);
                if (r >= 0)
                        r = migrator_log_event(m, version, MIGRATE_EVENT_FIX, mig->scripts[MIGRATION_UP].checksum,
                                               NULL, true, NULL, detail);
                if (r >= 0)
                        r = fix_commit(m);
                if (r < 0)
                        break;
                text = strprintf("marked applied (was %s)", !rec ? "not recorded" : migration_state_to_string(rec->state));
                migrator_progress(m, MIGRATE_PROGRESS_CHANGED, version, mig->name, -1, text);
                return 0;
        }

        case MIGRATE_FIX_MARK_REVERTED: {
                _cleanup_free_ char *detail = NULL, *text = NULL, *name = NULL;
                if (!rec) {
                        migrator_rollback_quietly(m->conn);
                        return migrator_fail(m, -ENOENT, "Migration %04u is not recorded (neither applied nor dirty); "
                                             "nothing to mark reverted.", version);
                }
                name = strdup(rec->name);
                detail = strprintf("mark-reverted (was %s)", migration_state_to_string(rec->state));
                if (!name || !detail)
                        return -ENOMEM;
                r = migrator_exec(m, "Cannot mark the migration reverted",
                                  "DELETE FROM stopstart_meta.schema_version WHERE version = $1::integer",
                                  1, (const char *[]) { v }, NULL);
                if (r >= 0)
                        r = migrator_log_event(m, version, MIGRATE_EVENT_FIX, rec->checksum_up, NULL, true, NULL, detail);
                if (r >= 0)
                        r = fix_commit(m);
                if (r < 0)
                        break;
                text = strprintf("marked reverted (was %s)", migration_state_to_string(rec->state));
                migrator_progress(m, MIGRATE_PROGRESS_CHANGED, version, name, -1, text);
                return 0;
        }

        case MIGRATE_FIX_STAMP: {
                _cleanup_free_ char *detail = NULL, *text = NULL;
                unsigned added = 0, removed = 0, repaired = 0;

                for (size_t i = 0; i < st->n_records && r >= 0; i++) {
                        const MigrationRecord *x = &st->records[i];
                        char xv[16];
                        snprintf(xv, sizeof xv, "%u", x->version);
                        if (x->version > version) {
                                r = migrator_exec(m, "Cannot stamp",
                                                  "DELETE FROM stopstart_meta.schema_version WHERE version = $1::integer",
                                                  1, (const char *[]) { xv }, NULL);
                                removed++;
                        } else if (x->state == MIGRATION_STATE_DIRTY) {
                                r = migrator_exec(m, "Cannot stamp",
                                                  "UPDATE stopstart_meta.schema_version SET state = 'applied' WHERE version = $1::integer",
                                                  1, (const char *[]) { xv }, NULL);
                                repaired++;
                        }
                }
                for (size_t i = 0; i < m->set->n_migrations && r >= 0; i++) {
                        const Migration *x = &m->set->migrations[i];
                        char xv[16];
                        if (x->version > version || migrate_status_find(st, x->version))
                                continue;
                        snprintf(xv, sizeof xv, "%u", x->version);
                        r = migrator_exec(m, "Cannot stamp",
                                          "INSERT INTO stopstart_meta.schema_version (version, name, checksum_up, checksum_down, "
                                          "state, applied_by, tool_version) VALUES ($1, $2, $3, $4, 'applied', $5, $6)",
                                          6, (const char *[]) { xv, x->name, x->scripts[MIGRATION_UP].checksum,
                                                                x->scripts[MIGRATION_DOWN].checksum, m->actor,
                                                                PROJECT_VERSION }, NULL);
                        added++;
                }
                if (r < 0)
                        break;
                detail = strprintf("stamp %04u: %u recorded, %u removed, %u dirty marked applied", version, added, removed,
                                   repaired);
                if (!detail)
                        return -ENOMEM;
                r = migrator_log_event(m, version, MIGRATE_EVENT_STAMP, mig ? mig->scripts[MIGRATION_UP].checksum : NULL,
                                       NULL, true, NULL, detail);
                if (r >= 0)
                        r = fix_commit(m);
                if (r < 0)
                        break;
                text = strprintf("stamped at %04u: %u recorded as applied, %u removed, %u dirty marked applied "
                                 "(nothing was run)", version, added, removed, repaired);
                migrator_progress(m, MIGRATE_PROGRESS_CHANGED, version, mig ? mig->name : "base", -1, text);
                return 0;
        }

        case MIGRATE_FIX_REALIGN_CHECKSUMS:
        case MIGRATE_FIX_FORGET_MISSING: {
                unsigned changed = 0;
                for (size_t i = 0; i < st->n_records && r >= 0; i++) {
                        const MigrationRecord *x = &st->records[i];
                        const Migration *xm = migration_set_find(m->set, x->version);
                        _cleanup_free_ char *detail = NULL;
                        char xv[16], a[13], b[13], c2[13], d2[13];

                        snprintf(xv, sizeof xv, "%u", x->version);
                        if (fix == MIGRATE_FIX_FORGET_MISSING) {
                                if (xm)
                                        continue;
                                r = migrator_exec(m, "Cannot forget the migration",
                                                  "DELETE FROM stopstart_meta.schema_version WHERE version = $1::integer",
                                                  1, (const char *[]) { xv }, NULL);
                                if (r >= 0)
                                        r = migrator_log_event(m, x->version, MIGRATE_EVENT_FIX, x->checksum_up, NULL, true,
                                                               NULL, "forget-missing (not in this build)");
                                if (r >= 0)
                                        migrator_progress(m, MIGRATE_PROGRESS_CHANGED, x->version, x->name, -1,
                                                          "forgotten (not in this build)");
                                changed++;
                                continue;
                        }
                        if (!xm || (streq(x->checksum_up, xm->scripts[MIGRATION_UP].checksum) &&
                                    streq(x->checksum_down, xm->scripts[MIGRATION_DOWN].checksum) &&
                                    streq(x->name, xm->name)))
                                continue;
                        detail = strprintf("realign-checksums: %s up %s… -> %s…, down %s… -> %s…", x->name,
                                           migrate_short_sum(x->checksum_up, a), migrate_short_sum(xm->scripts[MIGRATION_UP].checksum, b),
                                           migrate_short_sum(x->checksum_down, c2), migrate_short_sum(xm->scripts[MIGRATION_DOWN].checksum, d2));
                        if (!detail)
                                return -ENOMEM;
                        r = migrator_exec(m, "Cannot realign the checksums",
                                          "UPDATE stopstart_meta.schema_version SET name = $2, checksum_up = $3, checksum_down = $4 "
                                          "WHERE version = $1::integer",
                                          4, (const char *[]) { xv, xm->name, xm->scripts[MIGRATION_UP].checksum,
                                                                xm->scripts[MIGRATION_DOWN].checksum }, NULL);
                        if (r >= 0)
                                r = migrator_log_event(m, x->version, MIGRATE_EVENT_FIX, xm->scripts[MIGRATION_UP].checksum,
                                                       NULL, true, NULL, detail);
                        if (r >= 0)
                                migrator_progress(m, MIGRATE_PROGRESS_CHANGED, x->version, xm->name, -1,
                                                  "recorded name and checksums realigned to this build");
                        changed++;
                }
                if (r >= 0)
                        r = fix_commit(m);
                if (r < 0)
                        break;
                if (changed == 0)
                        migrator_progress(m, MIGRATE_PROGRESS_CHANGED, 0, NULL, -1,
                                          fix == MIGRATE_FIX_FORGET_MISSING ? "no recorded migration is missing from this build; nothing changed"
                                                                            : "every recorded checksum already matches this build; nothing changed");
                return 0;
        }

        default:
                migrator_rollback_quietly(m->conn);
                return -EINVAL;
        }

        migrator_rollback_quietly(m->conn);
        return r;
}

int migrator_reset(Migrator *m) {
        _cleanup_(migrate_status_freep) MigrateStatus *st = NULL;
        _cleanup_free_ char *detail = NULL;
        int r;

        assert(m);
        assert(m->locked);

        r = migrator_bootstrap(m);
        if (r < 0)
                return r;
        r = migrator_status(m, &st);
        if (r < 0)
                return r;
        if (st->dirty > 0) {
                const MigrationRecord *rec = migrate_status_find(st, st->dirty);
                return migrator_fail(m, -EUCLEAN, "Refusing to reset: %s is dirty. Repair the record first with "
                                     "`stopstartctl db fix-state --mark-applied %u` or `--mark-reverted %u`.",
                                     rec ? rec->name : "a migration", st->dirty, st->dirty);
        }

        detail = strprintf("dropped schema " MIGRATE_APP_SCHEMA " at %04u; %zu version rows cleared", st->current,
                           st->n_records);
        if (!detail)
                return -ENOMEM;
        r = migrator_exec(m, "Cannot begin a transaction", "BEGIN", 0, NULL, NULL);
        if (r >= 0)
                r = migrator_set_local_lock_timeout(m);
        if (r >= 0)
                r = migrator_exec(m, "Cannot drop schema " MIGRATE_APP_SCHEMA,
                                  "DROP SCHEMA IF EXISTS " MIGRATE_APP_SCHEMA " CASCADE", 0, NULL, NULL);
        if (r >= 0)
                r = migrator_exec(m, "Cannot clear the version rows", "DELETE FROM stopstart_meta.schema_version", 0, NULL, NULL);
        if (r >= 0)
                r = migrator_log_event(m, st->current, MIGRATE_EVENT_RESET, NULL, NULL, true, NULL, detail);
        if (r >= 0)
                r = migrator_exec(m, "Cannot commit", "COMMIT", 0, NULL, NULL);
        if (r < 0) {
                migrator_rollback_quietly(m->conn);
                return r;
        }
        migrator_progress(m, MIGRATE_PROGRESS_CHANGED, st->current, NULL, -1, detail);

        return migrator_upgrade(m, "head");
}
