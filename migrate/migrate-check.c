/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Problems: what the version rows tell against the set (also the guard of mutating calls), and
 * check, which adds verify scripts and drift. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "migrate-internal.h"
#include "pq-util.h"
#include "strv.h"

/* ---- problems ------------------------------------------------------------------------------ */

MigrateCheck *migrate_check_free(MigrateCheck *c) {
        if (!c)
                return NULL;
        for (size_t i = 0; i < c->n_problems; i++)
                free(c->problems[i].message);
        free(c->problems);
        free(c->drift_note);
        return mfree(c);
}

static int add_problem(MigrateCheck *c, MigrateProblemKind kind, unsigned version, char *message) {
        MigrateProblem *p;

        if (!message)
                return -ENOMEM;
        p = realloc(c->problems, (c->n_problems + 1) * sizeof(MigrateProblem));
        if (!p) {
                free(message);
                return -ENOMEM;
        }
        c->problems = p;
        c->problems[c->n_problems++] = (MigrateProblem) { kind, version, message };
        return 0;
}

const char *migrate_short_sum(const char *s, char buf[static 13]) {
        snprintf(buf, 13, "%.12s", strempty(s));
        return buf;
}

/* Everything the version rows alone tell about the database against the set. */
static int collect_state_problems(const MigrationSet *set, const MigrateStatus *st, MigrateCheck *c) {
        unsigned highest = 0;
        int r;

        for (size_t i = 0; i < st->n_records; i++)
                highest = MAX(highest, st->records[i].version);

        for (size_t i = 0; i < st->n_records; i++) {
                const MigrationRecord *rec = &st->records[i];
                const Migration *mig = migration_set_find(set, rec->version);
                char a[13], b[13];

                if (rec->state == MIGRATION_STATE_DIRTY) {
                        r = add_problem(c, MIGRATE_PROBLEM_DIRTY, rec->version,
                                        strprintf("%s is dirty: a no-transaction migration stopped part-way. Inspect the "
                                                  "database, then run `stopstartctl db fix-state --mark-applied %u` or "
                                                  "`--mark-reverted %u`.", rec->name, rec->version, rec->version));
                        if (r < 0)
                                return r;
                }
                if (!mig) {
                        r = add_problem(c, MIGRATE_PROBLEM_MISSING, rec->version,
                                        strprintf("%s is applied but not part of this build (the database is ahead of "
                                                  "this stopstartctl, or the file was removed).", rec->name));
                        if (r < 0)
                                return r;
                        continue;
                }
                if (!streq(rec->name, mig->name)) {
                        r = add_problem(c, MIGRATE_PROBLEM_RENAMED, rec->version,
                                        strprintf("%04u was applied as %s but is named %s in this build.",
                                                  rec->version, rec->name, mig->name));
                        if (r < 0)
                                return r;
                }
                if (!streq(rec->checksum_up, mig->scripts[MIGRATION_UP].checksum)) {
                        r = add_problem(c, MIGRATE_PROBLEM_CHECKSUM, rec->version,
                                        strprintf("%s: the up script changed after it was applied (applied sha256 %s…, "
                                                  "build %s…).", mig->name, migrate_short_sum(rec->checksum_up, a),
                                                  migrate_short_sum(mig->scripts[MIGRATION_UP].checksum, b)));
                        if (r < 0)
                                return r;
                }
                if (!streq(rec->checksum_down, mig->scripts[MIGRATION_DOWN].checksum)) {
                        r = add_problem(c, MIGRATE_PROBLEM_CHECKSUM, rec->version,
                                        strprintf("%s: the down script changed after the migration was applied "
                                                  "(applied sha256 %s…, build %s…).", mig->name,
                                                  migrate_short_sum(rec->checksum_down, a),
                                                  migrate_short_sum(mig->scripts[MIGRATION_DOWN].checksum, b)));
                        if (r < 0)
                                return r;
                }
        }

        for (size_t i = 0; i < set->n_migrations; i++) {
                const Migration *mig = &set->migrations[i];
                if (migrate_status_find(st, mig->version))
                        continue;
                if (mig->version < highest) {
                        const MigrationRecord *h = migrate_status_find(st, highest);
                        r = add_problem(c, MIGRATE_PROBLEM_OUT_OF_ORDER, mig->version,
                                        strprintf("%s is not applied, but the later %s is (out of order).",
                                                  mig->name, h ? h->name : "migration"));
                } else
                        r = add_problem(c, MIGRATE_PROBLEM_PENDING, mig->version,
                                        strprintf("%s is not applied yet (pending).", mig->name));
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Refuses a change while the state is not clean. pending and (for downgrades) out-of-order
 * migrations are no reason to refuse. */
int migrator_refuse_unclean(Migrator *m, const MigrateStatus *st, const char *verb, bool allow_out_of_order) {
        _cleanup_(migrate_check_freep) MigrateCheck *c = new0(MigrateCheck, 1);
        int r;

        if (!c)
                return -ENOMEM;
        r = collect_state_problems(m->set, st, c);
        if (r < 0)
                return r;

        /* Dirty first: it is the one that needs a human before anything else. */
        for (int pass = 0; pass < 2; pass++)
                for (size_t i = 0; i < c->n_problems; i++) {
                        const MigrateProblem *p = &c->problems[i];
                        if ((pass == 0) != (p->kind == MIGRATE_PROBLEM_DIRTY))
                                continue;
                        if (p->kind == MIGRATE_PROBLEM_PENDING ||
                            (allow_out_of_order && p->kind == MIGRATE_PROBLEM_OUT_OF_ORDER))
                                continue;
                        return migrator_fail(m, -EUCLEAN, "Refusing to %s: %s%s", verb, p->message,
                                             p->kind == MIGRATE_PROBLEM_DIRTY ? "" :
                                             " Run `stopstartctl db check` for details; `stopstartctl db fix-state` repairs the records.");
                }
        return 0;
}

/* ---- check ------------------------------------------------------------------------------- */

int migrator_check(Migrator *m, MigrateCheckFlags flags, MigrateCheck **ret) {
        _cleanup_(migrate_check_freep) MigrateCheck *c = NULL;
        _cleanup_(migrate_status_freep) MigrateStatus *st = NULL;
        int r;

        assert(m);
        assert(ret);

        c = new0(MigrateCheck, 1);
        if (!c)
                return -ENOMEM;
        r = migrator_status(m, &st);
        if (r < 0)
                return r;
        r = collect_state_problems(m->set, st, c);
        if (r < 0)
                return r;

        c->current = st->current;
        c->head = migration_set_head(m->set);
        for (size_t i = 0; i < st->n_records; i++)
                if (st->records[i].state == MIGRATION_STATE_APPLIED)
                        c->n_applied++;
        for (size_t i = 0; i < c->n_problems; i++)
                if (c->problems[i].kind == MIGRATE_PROBLEM_PENDING || c->problems[i].kind == MIGRATE_PROBLEM_OUT_OF_ORDER)
                        c->n_pending++;

        if (flags & MIGRATE_CHECK_VERIFY)
                for (size_t i = 0; i < st->n_records; i++) {
                        const Migration *mig = migration_set_find(m->set, st->records[i].version);
                        _cleanup_free_ char *err = NULL;

                        if (!mig || !mig->scripts[MIGRATION_VERIFY].present)
                                continue;
                        r = migrate_run_verify(m->conn, &mig->scripts[MIGRATION_VERIFY], &err);
                        if (r == -ECONNRESET)
                                return migrator_fail(m, r, "Connection to the server lost: %s", strna(err));
                        if (r < 0) {
                                r = add_problem(c, MIGRATE_PROBLEM_VERIFY, mig->version,
                                                strprintf("%s: verify script failed: %s", mig->name, strna(err)));
                                if (r < 0)
                                        return r;
                        }
                }

        if (flags & (MIGRATE_CHECK_DRIFT_SCRATCH | MIGRATE_CHECK_DRIFT_SNAPSHOT)) {
                _cleanup_(migrate_diff_freep) MigrateDiff *d = NULL;

                r = migrator_diff(m, flags, &d);
                if (r == -EUCLEAN) {
                        c->drift_note = strdup(migrator_error(m));
                        if (!c->drift_note)
                                return -ENOMEM;
                } else if (r == -EIO) {
                        /* The migrations do not even build from scratch: that is drift of the worst kind. */
                        r = add_problem(c, MIGRATE_PROBLEM_DRIFT, 0, strdup(migrator_error(m)));
                        if (r < 0)
                                return r;
                } else if (r < 0)
                        return r;
                else {
                        c->drift_method = d->method;
                        for (size_t i = 0; i < d->n_differences; i++) {
                                const SchemaDifference *x = &d->differences[i];
                                /* A wholesale mismatch is one finding, not hundreds: diff lists them all. */
                                if (i == MIGRATE_CHECK_MAX_DRIFT) {
                                        r = add_problem(c, MIGRATE_PROBLEM_DRIFT, 0,
                                                        strprintf("… and %zu more differences (`stopstartctl db diff` "
                                                                  "lists them all)", d->n_differences - i));
                                        if (r < 0)
                                                return r;
                                        break;
                                }
                                r = add_problem(c, MIGRATE_PROBLEM_DRIFT, 0,
                                                strprintf("%s %s %s", x->kind, x->name,
                                                          !x->expected ? "exists in the database but not in the migrations" :
                                                          !x->actual ? "is defined by the migrations but missing from the database" :
                                                          "differs from its definition in the migrations"));
                                if (r < 0)
                                        return r;
                        }
                }
        }

        /* The migrations must reach the declared schema: a developer who edited schema.sql and
         * forgot `db new --autogenerate` (or edited a migration only) hears it here. */
        if ((flags & MIGRATE_CHECK_DRIFT_SCRATCH) && m->set->declared) {
                _cleanup_(migrate_diff_freep) MigrateDiff *d = NULL;

                r = migrator_diff_declared(m, &d);
                if (r == -ENOMEM || r == -ECONNRESET)
                        return r;
                if (r == -EPERM) {
                        if (!c->drift_note) {
                                c->drift_note = strdup(migrator_error(m));
                                if (!c->drift_note)
                                        return -ENOMEM;
                        }
                } else if (r < 0) {
                        r = add_problem(c, MIGRATE_PROBLEM_UNDECLARED, 0, strdup(migrator_error(m)));
                        if (r < 0)
                                return r;
                } else
                        for (size_t i = 0; i < d->n_differences && i <= MIGRATE_CHECK_MAX_DRIFT; i++) {
                                const SchemaDifference *x = &d->differences[i];
                                r = add_problem(c, MIGRATE_PROBLEM_UNDECLARED, 0,
                                                i == MIGRATE_CHECK_MAX_DRIFT ?
                                                strprintf("… and %zu more differences between head and "
                                                          "migrations/schema.sql (`stopstartctl db diff` lists them)",
                                                          d->n_differences - i) :
                                                strprintf("%s %s %s (run `stopstartctl db new \"…\" --autogenerate`)",
                                                          x->kind, x->name,
                                                          !x->expected ? "is made by the migrations but not declared in migrations/schema.sql" :
                                                          !x->actual ? "is declared in migrations/schema.sql but no migration makes it" :
                                                          "differs between the migrations' head and migrations/schema.sql"));
                                if (r < 0)
                                        return r;
                        }
        }

        *ret = TAKE_PTR(c);
        return 0;
}
