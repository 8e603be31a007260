/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdlib.h>

#include "log.h"
#include "store.h"

/* A statement with its own copy of the parameters, so it can be sent again. */
typedef struct RetryQuery {
        char *sql;
        char **params;
        int n_params;
        unsigned attempts;
        store_wanted_t wanted;
        db_result_handler_t handler;   /* NULL: a store_write() */
        void *userdata;
} RetryQuery;

static void retry_query_free(RetryQuery *q) {
        if (!q)
                return;
        free(q->sql);
        for (int i = 0; i < q->n_params; i++)
                free(q->params[i]);
        free(q->params);
        free(q);
}

static void on_retry_query(Db *db, PGresult *r, int error, void *userdata) {
        RetryQuery *q = userdata;

        /* The statements are idempotent: a lost answer is answered by sending them again. */
        if (error == -ECONNRESET && ++q->attempts < 10 && (!q->wanted || q->wanted(q->userdata))) {
                PQclear(r);
                r = NULL;
                if (db_query(db, q->sql, q->n_params, (const char * const *) q->params, 0, on_retry_query, q) >= 0)
                        return;
        }
        if (q->handler)
                q->handler(db, r, error, q->userdata);
        else {
                PQclear(r);
                if (error < 0 && error != -ECANCELED)
                        log_warning_errno(error, "Could not write to the database: %s", db_last_error(db));
        }
        retry_query_free(q);
}

static int submit(Db *db, const char *sql, int n_params, const char * const *params, store_wanted_t wanted,
                  db_result_handler_t handler, void *userdata) {
        RetryQuery *q;
        int r;

        if (!db)
                return -ENOTCONN;
        q = new0(RetryQuery, 1);
        if (!q)
                return -ENOMEM;
        q->wanted = wanted;
        q->handler = handler;
        q->userdata = userdata;
        q->sql = strdup(sql);
        q->params = new0(char *, MAX(n_params, 1));
        if (!q->sql || !q->params) {
                retry_query_free(q);
                return -ENOMEM;
        }
        for (int i = 0; i < n_params; i++) {
                q->n_params = i + 1;
                if (params[i] && !(q->params[i] = strdup(params[i]))) {
                        retry_query_free(q);
                        return -ENOMEM;
                }
        }
        q->n_params = n_params;
        /* Not fail-fast: while the database is away, the statement waits for it. */
        r = db_query(db, q->sql, q->n_params, (const char * const *) q->params, 0, on_retry_query, q);
        if (r < 0)
                retry_query_free(q);
        return r;
}

int store_write(Db *db, const char *sql, int n_params, const char * const *params) {
        return submit(db, sql, n_params, params, NULL, NULL, NULL);
}

int store_query_retry(Db *db, const char *sql, int n_params, const char * const *params, store_wanted_t wanted,
                      db_result_handler_t handler, void *userdata) {
        assert(handler);
        return submit(db, sql, n_params, params, wanted, handler, userdata);
}

/* StoreRows is the PGresult itself. */
size_t store_rows_count(const StoreRows *rows) {
        return rows ? (size_t) PQntuples((const PGresult *) rows) : 0;
}
