/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The OCI client's errors (oci-error.h): kinds, their -errno, the one-line message. */
#include <errno.h>
#include <stdlib.h>

#include "oci-error.h"
#include "strv.h"

static const char * const oci_error_kind_table[_OCI_ERROR_KIND_MAX] = {
        [OCI_ERROR_NOT_FOUND]         = "not-found",
        [OCI_ERROR_NOT_AUTHENTICATED] = "not-authenticated",
        [OCI_ERROR_NOT_AUTHORIZED]    = "not-authorized",
        [OCI_ERROR_CONFLICT]          = "conflict",
        [OCI_ERROR_THROTTLED]         = "throttled",
        [OCI_ERROR_SERVER]            = "server",
        [OCI_ERROR_TRANSPORT]         = "transport",
        [OCI_ERROR_BAD_RESPONSE]      = "bad-response",
        [OCI_ERROR_INVALID_REQUEST]   = "invalid-request",
        [OCI_ERROR_TIMEOUT]           = "timeout",
        [OCI_ERROR_UNEXPECTED_STATE]  = "unexpected-state",
        [OCI_ERROR_INTERNAL]          = "internal",
};
DEFINE_STRING_TABLE_LOOKUP(oci_error_kind, OciErrorKind);

OciErrorKind oci_error_kind_from_status(long status) {
        if (status == 401)
                return OCI_ERROR_NOT_AUTHENTICATED;
        if (status == 403)
                return OCI_ERROR_NOT_AUTHORIZED;
        if (status == 404)
                return OCI_ERROR_NOT_FOUND;
        if (status == 409 || status == 412)
                return OCI_ERROR_CONFLICT;
        if (status == 429)
                return OCI_ERROR_THROTTLED;
        if (status >= 500 && status <= 599)
                return OCI_ERROR_SERVER;
        if (status >= 400 && status <= 499)
                return OCI_ERROR_INVALID_REQUEST;
        /* 1xx/3xx/other: nothing we asked for */
        return OCI_ERROR_BAD_RESPONSE;
}

int oci_error_kind_to_errno(OciErrorKind k) {
        switch (k) {
        case OCI_ERROR_NOT_FOUND:
                return -ENOENT;
        case OCI_ERROR_NOT_AUTHENTICATED:
                return -EACCES;
        case OCI_ERROR_NOT_AUTHORIZED:
                return -EPERM;
        case OCI_ERROR_CONFLICT:
                return -EBUSY;
        case OCI_ERROR_THROTTLED:
                return -EAGAIN;
        case OCI_ERROR_SERVER:
                return -EREMOTEIO;
        case OCI_ERROR_TRANSPORT:
                return -ECONNABORTED;
        case OCI_ERROR_BAD_RESPONSE:
                return -EBADMSG;
        case OCI_ERROR_INVALID_REQUEST:
                return -EINVAL;
        case OCI_ERROR_TIMEOUT:
                return -ETIME;
        case OCI_ERROR_UNEXPECTED_STATE:
                return -ESTALE;
        default:
                return -EIO;
        }
}

char *oci_error_to_string(const OciError *e) {
        _cleanup_free_ char *status = NULL, *extra = NULL;
        const char *hint = "";

        if (!e)
                return NULL;
        if (e->http_status > 0)
                status = strprintf("HTTP %ld%s%s: ", e->http_status, e->code ? " " : "", strempty(e->code));
        else if (e->code)
                status = strprintf("%s: ", e->code);
        else
                status = strdup("");
        if (!status)
                return NULL;
        if (e->kind == OCI_ERROR_NOT_AUTHENTICATED)
                hint = " (check user, tenancy, fingerprint and key_file in the OCI config, and the system clock)";
        if (e->request_id)
                extra = strprintf(" (opc-request-id: %s, attempts: %u)", e->request_id, e->attempts);
        else if (e->attempts > 0)
                extra = strprintf(" (attempts: %u)", e->attempts);
        else
                extra = strdup("");
        if (!extra)
                return NULL;
        return strprintf("%s: %s%s%s%s", e->operation ?: "OCI", status, e->message ?: "failed", hint, extra);
}
