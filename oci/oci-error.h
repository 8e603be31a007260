/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* How an OCI call fails: the kind of error (from the HTTP status, or ours), its -errno, and the
 * one line that tells an operator what happened. */

#include <errno.h>

#include "macro.h"
#include "string-table.h"

typedef enum OciErrorKind {
        OCI_ERROR_NOT_FOUND,           /* 404: missing, or not permitted (OCI does not say which) */
        OCI_ERROR_NOT_AUTHENTICATED,   /* 401: signature, key, fingerprint or clock (>5 min) wrong */
        OCI_ERROR_NOT_AUTHORIZED,      /* 403 */
        OCI_ERROR_CONFLICT,            /* 409 (e.g. IncorrectState), 412 (NoEtagMatch) */
        OCI_ERROR_THROTTLED,           /* 429 on the last attempt */
        OCI_ERROR_SERVER,              /* 5xx on the last attempt */
        OCI_ERROR_TRANSPORT,           /* no HTTP answer: connect, TLS, reset, timeout */
        OCI_ERROR_BAD_RESPONSE,        /* malformed/truncated/oversized body, missing fields */
        OCI_ERROR_INVALID_REQUEST,     /* any other 4xx */
        OCI_ERROR_TIMEOUT,             /* a wait-for-state deadline passed */
        OCI_ERROR_UNEXPECTED_STATE,    /* waiting for a state the instance can no longer reach */
        OCI_ERROR_INTERNAL,            /* out of memory and the like, on our side */
        _OCI_ERROR_KIND_MAX,
        _OCI_ERROR_KIND_INVALID = -EINVAL,
} OciErrorKind;
DECLARE_STRING_TABLE_LOOKUP(oci_error_kind, OciErrorKind);

typedef struct OciError {
        OciErrorKind kind;
        int error;               /* the same as a negative errno (-ENOENT, -EACCES, -EPERM, -EBUSY,
                                  * -EAGAIN, -EREMOTEIO, -ECONNABORTED/-ETIMEDOUT, -EBADMSG,
                                  * -EINVAL, -ETIME, -ESTALE, -ENOMEM...) */
        long http_status;        /* 0 without an HTTP answer */
        const char *operation;   /* "GetInstance" */
        const char *method;
        const char *url;
        const char *code;        /* OCI's "code" ("NotAuthorizedOrNotFound"), or the curl error
                                  * name for transport errors; may be NULL */
        const char *message;     /* OCI's "message" or our description; never NULL */
        const char *request_id;  /* opc-request-id of the last answer; without one, the id we sent
                                  * ("stopstart-..."); NULL for errors that are not about a request */
        unsigned attempts;
} OciError;

/* One line: "GetInstance: HTTP 404 NotAuthorizedOrNotFound: <message> (opc-request-id: X,
 * attempts: N)". NULL on OOM. */
char *oci_error_to_string(const OciError *e);

/* The error kind and errno for an HTTP status (>= 400). */
OciErrorKind oci_error_kind_from_status(long status);
int oci_error_kind_to_errno(OciErrorKind k);
