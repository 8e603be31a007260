/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <errno.h>
#include <openssl/err.h>
#include <string.h>

#include "oci-signer.h"
#include "strv.h"

struct OciSigner {
        EVP_PKEY *key;
        char *key_id;
};

int oci_signer_new(EVP_PKEY *key, const char *key_id, OciSigner **ret) {
        OciSigner *s;

        assert(key);
        assert(ret);

        if (isempty(key_id))
                return -EINVAL;
        s = new0(OciSigner, 1);
        if (!s)
                return -ENOMEM;
        s->key_id = strdup(key_id);
        if (!s->key_id || !EVP_PKEY_up_ref(key)) {
                free(s->key_id);
                free(s);
                return -ENOMEM;
        }
        s->key = key;
        *ret = s;
        return 0;
}

OciSigner *oci_signer_free(OciSigner *s) {
        if (!s)
                return NULL;
        EVP_PKEY_free(s->key);
        free(s->key_id);
        return mfree(s);
}

const char *oci_signer_key_id(const OciSigner *s) {
        return s ? s->key_id : NULL;
}

void oci_signed_headers_done(OciSignedHeaders *h) {
        if (!h)
                return;
        free(h->date);
        free(h->content_type);
        free(h->content_length);
        free(h->x_content_sha256);
        free(h->authorization);
        free(h->signing_string);
        *h = (OciSignedHeaders) {};
}

bool oci_method_has_body(const char *method) {
        return method && (streq(method, "POST") || streq(method, "PUT") || streq(method, "PATCH"));
}

static bool method_valid(const char *method) {
        if (isempty(method))
                return false;
        for (const char *p = method; *p; p++)
                if (!isupper((unsigned char) *p))
                        return false;
        return true;
}

int oci_body_sha256(const void *body, size_t size, char ret[static OCI_SHA256_BASE64_MAX]) {
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned n = 0;

        if (!EVP_Digest(size > 0 ? body : "", size, md, &n, EVP_sha256(), NULL) || n != 32)
                return -EIO;
        if (EVP_EncodeBlock((unsigned char *) ret, md, (int) n) != 44)
                return -EIO;
        return 0;
}

int oci_url_split(const char *url, char **ret_host, char **ret_target) {
        _cleanup_free_ char *host = NULL, *target = NULL;
        const char *a, *end, *at, *default_port, *colon, *path;
        size_t n;

        assert(url);

        if ((a = startswith(url, "https://")))
                default_port = "443";
        else if ((a = startswith(url, "http://")))
                default_port = "80";
        else
                return -EINVAL;

        end = a + strcspn(a, "/?#");
        /* userinfo is never sent in Host: */
        at = memchr(a, '@', (size_t) (end - a));
        if (at)
                a = at + 1;
        if (end == a)
                return -EINVAL;

        /* the port after the last ':' unless it is inside an IPv6 literal */
        colon = NULL;
        for (const char *p = a; p < end; p++)
                if (*p == ':')
                        colon = p;
                else if (*p == ']')
                        colon = NULL;
        n = (size_t) (end - a);
        if (colon) {
                const char *port = colon + 1;
                size_t plen = (size_t) (end - port);

                if (plen == 0 || (plen == strlen(default_port) && strneq(port, default_port, plen)))
                        n = (size_t) (colon - a);
                else
                        for (const char *p = port; p < end; p++)
                                if (!isdigit((unsigned char) *p))
                                        return -EINVAL;
        }
        host = strndup(a, n);
        if (!host)
                return -ENOMEM;

        path = end;
        n = strcspn(path, "#");
        if (n == 0 || path[0] == '?')
                target = strprintf("/%.*s", (int) n, path);
        else
                target = strndup(path, n);
        if (!target)
                return -ENOMEM;
        for (const char *p = target; *p; p++)
                if ((unsigned char) *p <= ' ' || (unsigned char) *p >= 0x7f)
                        return -EINVAL; /* must be percent-encoded before signing */

        if (ret_host)
                *ret_host = TAKE_PTR(host);
        if (ret_target)
                *ret_target = TAKE_PTR(target);
        return 0;
}

int oci_signing_string(const OciSignHeader *headers, size_t n, char **ret, char **ret_header_list) {
        _cleanup_free_ char *s = NULL, *list = NULL;
        size_t len = 0, llen = 0;
        char *p, *q;

        assert(headers || n == 0);
        assert(ret);

        for (size_t i = 0; i < n; i++) {
                if (isempty(headers[i].name) || !headers[i].value)
                        return -EINVAL;
                /* a newline in a value would forge extra lines */
                if (strpbrk(headers[i].value, "\r\n") || strpbrk(headers[i].name, " \r\n:"))
                        return -EINVAL;
                len += strlen(headers[i].name) + 2 + strlen(headers[i].value) + 1;
                llen += strlen(headers[i].name) + 1;
        }

        s = malloc(len + 1);
        list = malloc(llen + 1);
        if (!s || !list)
                return -ENOMEM;
        p = s;
        q = list;
        *p = *q = 0;
        for (size_t i = 0; i < n; i++) {
                p = stpcpy(stpcpy(stpcpy(stpcpy(p, i > 0 ? "\n" : ""), headers[i].name), ": "), headers[i].value);
                q = stpcpy(stpcpy(q, i > 0 ? " " : ""), headers[i].name);
        }

        *ret = TAKE_PTR(s);
        if (ret_header_list)
                *ret_header_list = TAKE_PTR(list);
        return 0;
}

static void EVP_MD_CTX_freep(EVP_MD_CTX **c) {
        EVP_MD_CTX_free(*c);
}

int oci_sign_base64(EVP_PKEY *key, const void *data, size_t size, char **ret) {
        _cleanup_(EVP_MD_CTX_freep) EVP_MD_CTX *ctx = NULL;
        _cleanup_free_ unsigned char *sig = NULL;
        _cleanup_free_ char *b64 = NULL;
        size_t sig_len = 0;

        assert(key);
        assert(ret);

        ctx = EVP_MD_CTX_new();
        if (!ctx)
                return -ENOMEM;
        ERR_clear_error();
        if (EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, key) != 1 ||
            EVP_DigestSign(ctx, NULL, &sig_len, data, size) != 1) {
                ERR_clear_error();
                return -EIO;
        }
        sig = malloc(sig_len);
        if (!sig)
                return -ENOMEM;
        if (EVP_DigestSign(ctx, sig, &sig_len, data, size) != 1) {
                ERR_clear_error();
                return -EIO;
        }
        b64 = malloc(4 * ((sig_len + 2) / 3) + 1);
        if (!b64)
                return -ENOMEM;
        EVP_EncodeBlock((unsigned char *) b64, sig, (int) sig_len);
        *ret = TAKE_PTR(b64);
        return 0;
}

int oci_authorization_format(const char *key_id, const char *header_list, const char *signature,
                             const char * const *param_order, char **ret) {
        static const char * const default_order[] = { "version", "headers", "keyId", "algorithm", "signature", NULL };
        _cleanup_strv_free_ char **parts = NULL;
        _cleanup_free_ char *j = NULL;
        int r;

        assert(key_id && header_list && signature && ret);

        for (const char * const *o = param_order ?: default_order; *o; o++) {
                const char *v;

                if (streq(*o, "version"))
                        v = "1";
                else if (streq(*o, "headers"))
                        v = header_list;
                else if (streq(*o, "keyId"))
                        v = key_id;
                else if (streq(*o, "algorithm"))
                        v = "rsa-sha256";
                else if (streq(*o, "signature"))
                        v = signature;
                else
                        return -EINVAL;
                if (strchr(v, '"'))
                        return -EINVAL;
                r = strv_consume(&parts, strprintf("%s=\"%s\"", *o, v));
                if (r < 0)
                        return r;
        }
        j = strv_join(parts, ",");
        if (!j)
                return -ENOMEM;
        *ret = strprintf("Signature %s", j);
        return *ret ? 0 : -ENOMEM;
}

int oci_signer_sign(const OciSigner *s, const char *method, const char *url, const void *body, size_t body_size,
                    const char *content_type, const char *date, OciSignedHeaders *ret) {
        _cleanup_free_ char *host = NULL, *target = NULL, *request_target = NULL, *list = NULL, *signature = NULL;
        _cleanup_(oci_signed_headers_done) OciSignedHeaders h = {};
        OciSignHeader sh[6];
        size_t n = 0;
        int r;

        assert(s);
        assert(ret);

        if (!method_valid(method) || isempty(date) || !url)
                return -EINVAL;
        r = oci_url_split(url, &host, &target);
        if (r < 0)
                return r;

        request_target = strprintf("%s %s", method, target);
        if (!request_target)
                return -ENOMEM;
        for (char *p = request_target; *p != ' '; p++)
                *p = (char) tolower((unsigned char) *p);

        h.date = strdup(date);
        if (!h.date)
                return -ENOMEM;

        /* the order of the Go, Python and Java SDKs */
        sh[n++] = (OciSignHeader) { "date", h.date };
        sh[n++] = (OciSignHeader) { "(request-target)", request_target };
        sh[n++] = (OciSignHeader) { "host", host };
        if (oci_method_has_body(method)) {
                char sha[OCI_SHA256_BASE64_MAX];

                r = oci_body_sha256(body, body_size, sha);
                if (r < 0)
                        return r;
                h.x_content_sha256 = strdup(sha);
                h.content_length = strprintf("%zu", body_size);
                h.content_type = strdup(content_type ?: "application/json");
                if (!h.x_content_sha256 || !h.content_length || !h.content_type)
                        return -ENOMEM;
                sh[n++] = (OciSignHeader) { "content-length", h.content_length };
                sh[n++] = (OciSignHeader) { "content-type", h.content_type };
                sh[n++] = (OciSignHeader) { "x-content-sha256", h.x_content_sha256 };
        }

        r = oci_signing_string(sh, n, &h.signing_string, &list);
        if (r < 0)
                return r;
        r = oci_sign_base64(s->key, h.signing_string, strlen(h.signing_string), &signature);
        if (r < 0)
                return r;
        r = oci_authorization_format(s->key_id, list, signature, NULL, &h.authorization);
        if (r < 0)
                return r;

        *ret = h;
        h = (OciSignedHeaders) {};
        return 0;
}
