/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A region's instances batched as JSON text for the store (instance-batches.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "instance-batches.h"
#include "macro.h"

static void record_entry_free(struct lh_entry *e) {
        free(lh_entry_v(e));
}

/* An empty batch "[" with a new generation: records of the one before are out of it. */
static int batch_open(InstanceBatches *ib, InstanceBatch *b) {
        b->allocated = MAX(b->allocated, (size_t) 4096);
        b->text = malloc(b->allocated);
        if (!b->text)
                return -ENOMEM;
        b->text[0] = '[';
        b->length = 1;
        b->n = 0;
        b->generation = ++ib->generation;
        return 0;
}

int instance_batches_init(InstanceBatches *ib) {
        *ib = (InstanceBatches) {};
        ib->records = lh_kchar_table_new(1024, record_entry_free);
        for (size_t i = 0; i < _INSTANCE_BATCH_MAX; i++)
                if (batch_open(ib, ib->batches + i) < 0)
                        return -ENOMEM;
        ib->held = lh_kchar_table_new(64, NULL);   /* keys: the records' compartment ids */
        if (!ib->records || !ib->held)
                return -ENOMEM;
        return 0;
}

void instance_batches_done(InstanceBatches *ib) {
        for (size_t i = 0; i < _INSTANCE_BATCH_MAX; i++)
                free(ib->batches[i].text);
        if (ib->records)
                lh_table_free(ib->records);
        if (ib->held)
                lh_table_free(ib->held);
        *ib = (InstanceBatches) {};
}

static uint64_t fnv1a(const char *s, size_t l) {
        uint64_t h = UINT64_C(14695981039346656037);

        for (size_t i = 0; i < l; i++)
                h = (h ^ (uint8_t) s[i]) * UINT64_C(1099511628211);
        return h;
}

static int text_append(InstanceBatch *b, const char *s, size_t l) {
        if (b->length + l + 2 > b->allocated) {
                size_t a = MAX(b->allocated * 2, b->length + l + 2);
                char *m = realloc(b->text, a);

                if (!m)
                        return -ENOMEM;
                b->text = m;
                b->allocated = a;
        }
        memcpy(b->text + b->length, s, l);
        b->length += l;
        b->text[b->length++] = ',';
        return 0;
}

int instance_batches_put(InstanceBatches *ib, const InstanceFields *f, const char *cid, bool ready, bool listed) {
        _cleanup_free_ char *json = NULL;
        struct lh_entry *e;
        InstanceRecord *rec;
        InstanceBatch *b, *old = NULL;
        uint64_t h;
        size_t l;
        int k, differs;

        e = lh_table_lookup_entry(ib->records, f->id);
        rec = e ? lh_entry_v(e) : NULL;
        if (rec && rec->listed && !listed)
                return 0;

        json = snapshot_instance_json(f);
        if (!json)
                return -ENOMEM;
        l = strlen(json);
        h = fnv1a(json, l);
        differs = listed && (!rec || rec->length != l || rec->hash != h);
        if (rec && rec->generation == ib->batches[rec->batch].generation)
                old = ib->batches + rec->batch;
        if (rec && !old && rec->length == l && rec->hash == h) {
                /* stored (or on its way) as it is */
                rec->compartment_id = cid;
                rec->listed = listed;
                return differs;
        }
        b = ib->batches + (ready ? INSTANCE_BATCH_READY : INSTANCE_BATCH_HELD);

        if (old == b && l <= rec->length) {
                memcpy(b->text + rec->offset, json, l);
                memset(b->text + rec->offset + l, ' ', rec->length - l);
                rec->length = l;
        } else {
                k = text_append(b, json, l);
                if (k < 0)
                        return k;
                b->n++;
                if (old) {
                        memcpy(old->text + rec->offset, "{}", 2);
                        memset(old->text + rec->offset + 2, ' ', rec->length - 2);
                } else if (!rec) {
                        size_t il = strlen(f->id);

                        rec = malloc(offsetof(InstanceRecord, id) + il + 1);
                        if (!rec) {
                                b->length -= l + 1;
                                b->n--;
                                return -ENOMEM;
                        }
                        *rec = (InstanceRecord) {};
                        memcpy(rec->id, f->id, il + 1);
                        if (lh_table_insert(ib->records, rec->id, rec) < 0) {
                                free(rec);
                                b->length -= l + 1;
                                b->n--;
                                return -ENOMEM;
                        }
                }
                rec->offset = b->length - l - 1;
                rec->length = l;
        }
        rec->compartment_id = cid;
        rec->hash = h;
        rec->batch = (InstanceBatchKind) (b - ib->batches);
        rec->generation = b->generation;
        rec->shape_known = f->shape != NULL;
        rec->listed = listed;
        if (rec->batch == INSTANCE_BATCH_HELD && !rec->in_held_list) {
                /* to move it to READY as soon as its compartment is stored */
                e = lh_table_lookup_entry(ib->held, cid);
                if (e) {
                        rec->next_held = lh_entry_v(e);
                        lh_entry_set_val(e, rec);
                } else {
                        rec->next_held = NULL;
                        if (lh_table_insert(ib->held, cid, rec) < 0)
                                return differs;   /* then it waits for the tree */
                }
                rec->in_held_list = true;
        }
        return differs;
}

int instance_batches_promote(InstanceBatches *ib, const char *cid) {
        struct lh_entry *e = lh_table_lookup_entry(ib->held, cid);
        InstanceBatch *held = ib->batches + INSTANCE_BATCH_HELD, *ready = ib->batches + INSTANCE_BATCH_READY;
        InstanceRecord *rec, *next;
        int k = 0;

        if (!e)
                return 0;
        rec = lh_entry_v(e);
        lh_table_delete_entry(ib->held, e);
        for (; rec; rec = next) {
                next = rec->next_held;
                rec->next_held = NULL;
                rec->in_held_list = false;
                if (k < 0 || rec->batch != INSTANCE_BATCH_HELD || rec->generation != held->generation ||
                    !streq(rec->compartment_id, cid))
                        continue;
                k = text_append(ready, held->text + rec->offset, rec->length);
                if (k < 0)
                        continue;   /* stays in HELD */
                ready->n++;
                held->n--;
                memcpy(held->text + rec->offset, "{}", 2);
                memset(held->text + rec->offset + 2, ' ', rec->length - 2);
                rec->offset = ready->length - rec->length - 1;
                rec->batch = INSTANCE_BATCH_READY;
                rec->generation = ready->generation;
        }
        return k;
}

int instance_batches_take(InstanceBatches *ib, InstanceBatchKind kind, char **ret_text) {
        InstanceBatch *b = ib->batches + kind;
        _cleanup_free_ char *text = NULL;
        int r;

        assert(ret_text);

        if (b->n == 0) {
                *ret_text = NULL;
                return 0;
        }
        /* "[obj,...,obj," + the room text_append keeps: "[obj,...,obj]" */
        b->text[b->length - 1] = ']';
        b->text[b->length] = 0;
        text = TAKE_PTR(b->text);
        r = batch_open(ib, b);
        if (r < 0)
                return r;
        *ret_text = TAKE_PTR(text);
        return 1;
}
