/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The URLs of OCI requests (oci-url.h); percent-encoding is libcurl's. */
#include <curl/curl.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "oci-url.h"
#include "strv.h"

char *oci_url_escape(const char *s) {
        char *e, *r;

        assert(s);
        /* RFC 3986: everything but the unreserved characters, as libcurl does it (the handle is
         * not needed since 7.82) */
        e = curl_easy_escape(NULL, s, 0);
        if (!e)
                return NULL;
        r = strdup(e);
        curl_free(e);
        return r;
}

int oci_service_base_url(const char *endpoint, OciService service, const char *region, char **ret) {
        const char *name = oci_service_to_string(service);
        char *r;

        if (!name || isempty(region))
                return -EINVAL;

        if (!endpoint) {
                const char *domain = oci_region_domain(region);
                switch (service) {
                case OCI_SERVICE_IAAS:
                        r = strprintf("https://iaas.%s.%s", region, domain);
                        break;
                default: /* identity, query */
                        r = strprintf("https://%s.%s.oci.%s", name, region, domain);
                }
        } else {
                _cleanup_strv_free_ char **parts = NULL;
                const char *p = endpoint;
                int k;

                while (*p) {
                        const char *brace = strchr(p, '{');
                        const char *after = NULL, *value = NULL;

                        if (!brace) {
                                k = strv_extend(&parts, p);
                                if (k < 0)
                                        return k;
                                break;
                        }
                        if ((after = startswith(brace, "{region}")))
                                value = region;
                        else if ((after = startswith(brace, "{service}")))
                                value = name;
                        else {
                                after = brace + 1;
                                value = "{";
                        }
                        k = strv_consume(&parts, strndup(p, (size_t) (brace - p)));
                        if (k < 0)
                                return k;
                        k = strv_extend(&parts, value);
                        if (k < 0)
                                return k;
                        p = after;
                }
                r = strv_join(parts, "");
                if (r) {
                        size_t n = strlen(r);
                        while (n > 0 && r[n - 1] == '/')
                                r[--n] = 0;
                }
        }
        if (!r)
                return -ENOMEM;
        *ret = r;
        return 0;
}

int oci_url_build(const char *base, const char *path, const char * const *query, char **ret) {
        _cleanup_free_ char *q = NULL;
        char *u;
        int r;

        assert(base);
        assert(path);
        assert(ret);

        if (query) {
                _cleanup_strv_free_ char **parts = NULL;
                for (const char * const *p = query; p[0]; p += 2) {
                        _cleanup_free_ char *k = NULL, *v = NULL;
                        if (!p[1])
                                return -EINVAL;
                        k = oci_url_escape(p[0]);
                        v = oci_url_escape(p[1]);
                        if (!k || !v)
                                return -ENOMEM;
                        r = strv_consume(&parts, strprintf("%s=%s", k, v));
                        if (r < 0)
                                return r;
                }
                q = strv_join(parts, "&");
                if (!q)
                        return -ENOMEM;
        }
        u = strprintf("%s%s%s%s", base, path, isempty(q) ? "" : "?", strempty(q));
        if (!u)
                return -ENOMEM;
        *ret = u;
        return 0;
}

char *oci_url_path_with_id(const char *prefix, const char *id, const char *suffix) {
        _cleanup_free_ char *e = NULL;

        if (isempty(id))
                return NULL;
        e = oci_url_escape(id);
        return e ? strprintf("%s%s%s", prefix, e, suffix) : NULL;
}
