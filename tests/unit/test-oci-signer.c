/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <json-c/json.h>
#include <openssl/pem.h>
#include <stdlib.h>

#include "json-util.h"
#include "oci-config.h"
#include "oci-signer.h"
#include "strv.h"
#include "tests.h"

static char *vector_path(const char *name) {
        const char *root = getenv("STOPSTART_SOURCE_ROOT") ?: PROJECT_SOURCE_ROOT;
        char *p = strprintf("%s/tests/fixtures/oci-signing-vectors/%s", root, name);
        ASSERT_NOT_NULL(p);
        return p;
}

static char *read_all(const char *path, size_t *ret_size) {
        _cleanup_fclose_ FILE *f = fopen(path, "re");
        char *buf;
        size_t n;

        if (!f)
                TEST_FAIL("open %s: %m", path);
        buf = malloc(1024 * 1024);
        ASSERT_NOT_NULL(buf);
        n = fread(buf, 1, 1024 * 1024 - 1, f);
        buf[n] = 0;
        if (ret_size)
                *ret_size = n;
        return buf;
}

static EVP_PKEY *load_key(const char *name, const char *pass) {
        _cleanup_free_ char *p = vector_path(name), *pem = NULL, *err = NULL;
        EVP_PKEY *k = NULL;
        size_t n;
        int r;

        pem = read_all(p, &n);
        /* the fixtures are checked in 0644: load from memory, the permission check is tested
         * in test-oci-config */
        r = oci_key_load_pem(pem, n, pass, &k, &err);
        if (r < 0)
                TEST_FAIL("%s: %d %s", name, r, strna(err));
        return k;
}

static const char *jstr(json_object *o, const char *key) {
        json_object *v;

        if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
                return NULL;
        return json_object_get_string(v);
}

static json_object *jobj(json_object *o, const char *key) {
        json_object *v;
        return json_object_object_get_ex(o, key, &v) ? v : NULL;
}

static bool verify(EVP_PKEY *k, const char *data, const char *sig_b64) {
        unsigned char sig[1024];
        EVP_MD_CTX *c = EVP_MD_CTX_new();
        int n = EVP_DecodeBlock(sig, (const unsigned char *) sig_b64, (int) strlen(sig_b64));
        size_t len;
        bool ok;

        ASSERT_TRUE(n > 0);
        len = (size_t) n;
        if (strlen(sig_b64) >= 2 && sig_b64[strlen(sig_b64) - 1] == '=')
                len--;
        if (strlen(sig_b64) >= 2 && sig_b64[strlen(sig_b64) - 2] == '=')
                len--;
        ok = EVP_DigestVerifyInit(c, NULL, EVP_sha256(), NULL, k) == 1 &&
             EVP_DigestVerify(c, sig, len, (const unsigned char *) data, strlen(data)) == 1;
        EVP_MD_CTX_free(c);
        return ok;
}

/* The signature="..." value of an Authorization value. */
static char *sig_of(const char *authorization) {
        const char *p = strstr(authorization, "signature=\"");
        char *r;

        ASSERT_NOT_NULL(p);
        p += strlen("signature=\"");
        r = strndup(p, strcspn(p, "\""));
        ASSERT_NOT_NULL(r);
        return r;
}

/* The parameter names of an Authorization value, in order. */
static char **param_order_of(const char *authorization) {
        char **l = NULL;
        const char *p = startswith(authorization, "Signature ");

        ASSERT_NOT_NULL(p);
        while (*p) {
                const char *eq = strchr(p, '=');
                const char *end;

                ASSERT_NOT_NULL(eq);
                ASSERT_OK(strv_consume(&l, strndup(p, (size_t) (eq - p))));
                ASSERT_TRUE(eq[1] == '"');
                end = strchr(eq + 2, '"');
                ASSERT_NOT_NULL(end);
                p = end + 1;
                if (*p == ',')
                        p++;
        }
        return l;
}

static void check_request_vector(const char *name, json_object *v, EVP_PKEY *key) {
        json_object *req = jobj(v, "request"), *exp = jobj(v, "expected"), *hdrs, *signed_headers, *body_j;
        const char *method = jstr(req, "method"), *url = jstr(req, "url"), *key_id = jstr(v, "key_id");
        const char *body = NULL;
        _cleanup_(oci_signer_freep) OciSigner *s = NULL;
        _cleanup_(oci_signed_headers_done) OciSignedHeaders h = {};
        _cleanup_free_ char *host = NULL, *target = NULL, *rt = NULL, *ss = NULL, *list = NULL, *sig = NULL;
        bool default_order = true;
        OciSignHeader sh[16];
        size_t n_sh;

        ASSERT_NOT_NULL(req);
        ASSERT_NOT_NULL(exp);
        ASSERT_NOT_NULL(method);
        ASSERT_NOT_NULL(url);
        ASSERT_NOT_NULL(key_id);
        hdrs = jobj(req, "headers");
        signed_headers = jobj(v, "signed_headers");
        ASSERT_NOT_NULL(hdrs);
        ASSERT_NOT_NULL(signed_headers);
        body_j = jobj(req, "body");
        if (body_j && json_object_is_type(body_j, json_type_string))
                body = json_object_get_string(body_j);

        /* request-target and host from the URL */
        ASSERT_OK(oci_url_split(url, &host, &target));
        ASSERT_STREQ(host, jstr(hdrs, "host"));
        rt = strprintf("%s %s", method, target);
        for (char *p = rt; *p != ' '; p++)
                *p = (char) (*p - 'A' + 'a');
        ASSERT_STREQ(rt, jstr(exp, "request_target"));

        /* the building blocks, in the vector's own header order */
        n_sh = json_object_array_length(signed_headers);
        ASSERT_TRUE(n_sh > 0 && n_sh <= ELEMENTSOF(sh));
        {
                static const char * const ours_get[] = { "date", "(request-target)", "host" };
                static const char * const ours_body[] = { "date", "(request-target)", "host", "content-length",
                                                          "content-type", "x-content-sha256" };
                const char * const *ours = oci_method_has_body(method) ? ours_body : ours_get;
                size_t n_ours = oci_method_has_body(method) ? 6 : 3;

                if (n_sh != n_ours)
                        default_order = false;
                for (size_t i = 0; i < n_sh; i++) {
                        const char *hn = json_object_get_string(json_object_array_get_idx(signed_headers, i));
                        ASSERT_NOT_NULL(hn);
                        sh[i].name = hn;
                        sh[i].value = streq(hn, "(request-target)") ? rt : jstr(hdrs, hn);
                        if (!sh[i].value)
                                TEST_FAIL("%s: no value for signed header %s", name, hn);
                        if (i < n_ours && !streq(hn, ours[i]))
                                default_order = false;
                }
        }
        ASSERT_OK(oci_signing_string(sh, n_sh, &ss, &list));
        ASSERT_STREQ(ss, jstr(exp, "signing_string"));
        ASSERT_OK(oci_sign_base64(key, ss, strlen(ss), &sig));
        ASSERT_STREQ(sig, jstr(exp, "signature"));
        ASSERT_TRUE(verify(key, ss, sig));

        /* the Authorization value in every parameter order the vector documents */
        {
                static const char * const fields[] = { "authorization", "python_sdk_authorization" };
                for (size_t i = 0; i < ELEMENTSOF(fields); i++) {
                        const char *want = jstr(exp, fields[i]);
                        _cleanup_strv_free_ char **order = NULL;
                        _cleanup_free_ char *auth = NULL;

                        if (!want)
                                continue;
                        order = param_order_of(want);
                        ASSERT_OK(oci_authorization_format(key_id, list, sig, (const char * const *) order, &auth));
                        ASSERT_STREQ(auth, want);
                }
        }

        /* body hash and length */
        if (oci_method_has_body(method)) {
                char sha[OCI_SHA256_BASE64_MAX];
                ASSERT_NOT_NULL(body);
                ASSERT_OK(oci_body_sha256(body, strlen(body), sha));
                ASSERT_STREQ(sha, jstr(hdrs, "x-content-sha256"));
                if (jstr(exp, "x_content_sha256"))
                        ASSERT_STREQ(sha, jstr(exp, "x_content_sha256"));
                {
                        _cleanup_free_ char *len = strprintf("%zu", strlen(body));
                        ASSERT_STREQ(len, jstr(hdrs, "content-length"));
                        if (jstr(exp, "content_length"))
                                ASSERT_STREQ(len, jstr(exp, "content_length"));
                }
        }

        /* and what the client actually calls, end to end */
        ASSERT_OK(oci_signer_new(key, key_id, &s));
        ASSERT_OK(oci_signer_sign(s, method, url, body, body ? strlen(body) : 0, jstr(hdrs, "content-type"),
                                  jstr(hdrs, "date"), &h));
        ASSERT_STREQ(h.date, jstr(hdrs, "date"));
        if (default_order) {
                ASSERT_STREQ(h.signing_string, jstr(exp, "signing_string"));
                /* every vector with our header order also uses our parameter order, except the
                 * third-party one; compare with the re-ordered string then */
                {
                        _cleanup_strv_free_ char **order = param_order_of(jstr(exp, "authorization"));
                        _cleanup_free_ char *j = strv_join(order, ",");
                        if (streq(j, "version,headers,keyId,algorithm,signature"))
                                ASSERT_STREQ(h.authorization, jstr(exp, "authorization"));
                        else {
                                _cleanup_free_ char *auth = NULL;
                                ASSERT_OK(oci_authorization_format(key_id, list, sig, NULL, &auth));
                                ASSERT_STREQ(h.authorization, auth);
                        }
                }
        } else
                TEST_FAIL("%s: signed header order differs from the client's; extend the test", name);
        if (oci_method_has_body(method)) {
                ASSERT_STREQ(h.content_type, jstr(hdrs, "content-type"));
                ASSERT_STREQ(h.content_length, jstr(hdrs, "content-length"));
                ASSERT_STREQ(h.x_content_sha256, jstr(hdrs, "x-content-sha256"));
        } else {
                ASSERT_NULL(h.content_type);
                ASSERT_NULL(h.content_length);
                ASSERT_NULL(h.x_content_sha256);
        }
}

static void check_body_hash_vector(json_object *v) {
        json_object *cases = jobj(v, "cases");
        size_t n;

        ASSERT_NOT_NULL(cases);
        n = json_object_array_length(cases);
        ASSERT_TRUE(n >= 2);
        for (size_t i = 0; i < n; i++) {
                json_object *c = json_object_array_get_idx(cases, i);
                const char *body = jstr(c, "body");
                char sha[OCI_SHA256_BASE64_MAX];
                _cleanup_free_ char *len = NULL;

                ASSERT_NOT_NULL(body);
                ASSERT_OK(oci_body_sha256(body, strlen(body), sha));
                ASSERT_STREQ(sha, jstr(c, "expected_x_content_sha256"));
                len = strprintf("%zu", strlen(body));
                ASSERT_STREQ(len, jstr(c, "expected_content_length"));
        }
}

TEST(every_vector) {
        _cleanup_free_ char *dir = vector_path("");
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *key = load_key("test-key-1024.pkcs1.pem", NULL);
        unsigned n_json = 0, n_request = 0;
        struct dirent *de;
        DIR *d = opendir(dir);

        ASSERT_NOT_NULL(d);
        while ((de = readdir(d))) {
                _cleanup_free_ char *p = NULL;
                _cleanup_json_ json_object *v = NULL;
                size_t l = strlen(de->d_name);

                if (l < 5 || !streq(de->d_name + l - 5, ".json"))
                        continue;
                n_json++;
                p = vector_path(de->d_name);
                v = json_object_from_file(p);
                if (!v)
                        TEST_FAIL("%s: not JSON", de->d_name);
                if (jobj(v, "request")) {
                        json_object *k = jobj(v, "key");
                        ASSERT_STREQ(jstr(k, "private_key_pem"), "test-key-1024.pkcs1.pem");
                        check_request_vector(de->d_name, v, key);
                        n_request++;
                } else if (streq_ptr(jstr(v, "kind"), "body-hash-only"))
                        check_body_hash_vector(v);
                else
                        TEST_FAIL("%s: unknown kind of vector", de->d_name);
                printf("  %s\n", de->d_name);
        }
        closedir(d);
        /* every file was understood: 8 request vectors + 1 body-hash vector today */
        ASSERT_TRUE(n_json >= 9);
        ASSERT_TRUE(n_request >= 8);
}

TEST(every_key_encoding) {
        static const struct {
                const char *file;
                const char *pass;
        } keys[] = {
                { "test-key-1024.pkcs1.pem", NULL },
                { "test-key-1024.pkcs8.pem", NULL },
                { "test-key-1024.pkcs1-encrypted.pem", "oci-test-passphrase" },
                { "test-key-1024.pkcs8-encrypted.pem", "oci-test-passphrase" },
        };
        _cleanup_free_ char *p = vector_path("gosdk-get.json");
        _cleanup_json_ json_object *v = json_object_from_file(p);
        json_object *exp = jobj(v, "expected");

        ASSERT_NOT_NULL(exp);
        for (size_t i = 0; i < ELEMENTSOF(keys); i++) {
                _cleanup_(EVP_PKEY_freep) EVP_PKEY *k = load_key(keys[i].file, keys[i].pass);
                _cleanup_free_ char *sig = NULL;
                const char *ss = jstr(exp, "signing_string");
                char fp[OCI_FINGERPRINT_MAX];

                ASSERT_OK(oci_sign_base64(k, ss, strlen(ss), &sig));
                ASSERT_STREQ(sig, jstr(exp, "signature"));
                ASSERT_OK(oci_key_fingerprint(k, fp));
                ASSERT_STREQ(fp, "73:61:a2:21:67:e0:df:be:7e:4b:93:1e:15:98:a5:b7");
        }
}

TEST(empty_body_methods) {
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *key = load_key("test-key-1024.pkcs8.pem", NULL);
        _cleanup_(oci_signer_freep) OciSigner *s = NULL;
        static const char * const methods[] = { "POST", "PUT", "PATCH" };

        ASSERT_OK(oci_signer_new(key, "t/u/f", &s));
        ASSERT_STREQ(oci_signer_key_id(s), "t/u/f");
        for (size_t i = 0; i < ELEMENTSOF(methods); i++) {
                _cleanup_(oci_signed_headers_done) OciSignedHeaders h = {};
                ASSERT_OK(oci_signer_sign(s, methods[i], "https://h.example/x", NULL, 0, NULL,
                                          "Mon, 23 Nov 2026 12:00:00 GMT", &h));
                ASSERT_STREQ(h.content_length, "0");
                ASSERT_STREQ(h.content_type, "application/json");
                ASSERT_STREQ(h.x_content_sha256, "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
                ASSERT_TRUE(strstr(h.authorization,
                                   "headers=\"date (request-target) host content-length content-type x-content-sha256\"") != NULL);
                ASSERT_TRUE(strstr(h.signing_string, "\ncontent-length: 0\ncontent-type: application/json\n") != NULL);
                {
                        _cleanup_free_ char *sig = sig_of(h.authorization);
                        ASSERT_TRUE(verify(key, h.signing_string, sig));
                }
        }
        /* GET/DELETE/HEAD sign only the three */
        {
                static const char * const get[] = { "GET", "DELETE", "HEAD" };
                for (size_t i = 0; i < ELEMENTSOF(get); i++) {
                        _cleanup_(oci_signed_headers_done) OciSignedHeaders h = {};
                        ASSERT_OK(oci_signer_sign(s, get[i], "https://h.example/x?a=b", NULL, 0, NULL,
                                                  "Mon, 23 Nov 2026 12:00:00 GMT", &h));
                        ASSERT_TRUE(strstr(h.authorization, "headers=\"date (request-target) host\"") != NULL);
                        ASSERT_NULL(h.x_content_sha256);
                }
        }
}

TEST(date_changes_signature) {
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *key = load_key("test-key-1024.pkcs1.pem", NULL);
        _cleanup_(oci_signer_freep) OciSigner *s = NULL;
        _cleanup_(oci_signed_headers_done) OciSignedHeaders a = {}, b = {};
        _cleanup_free_ char *sa = NULL, *sb = NULL;

        ASSERT_OK(oci_signer_new(key, "t/u/f", &s));
        ASSERT_OK(oci_signer_sign(s, "GET", "https://h/x", NULL, 0, NULL, "Sun, 05 Jan 2014 21:31:40 GMT", &a));
        ASSERT_OK(oci_signer_sign(s, "GET", "https://h/x", NULL, 0, NULL, "Sun, 05 Jan 2014 21:31:41 GMT", &b));
        ASSERT_TRUE(!streq(a.authorization, b.authorization));
        /* both verify with the key over their own signing strings */
        sa = sig_of(a.authorization);
        sb = sig_of(b.authorization);
        ASSERT_TRUE(verify(key, a.signing_string, sa));
        ASSERT_TRUE(verify(key, b.signing_string, sb));
        ASSERT_TRUE(!verify(key, a.signing_string, sb));
}

TEST(url_split) {
        static const struct {
                const char *url, *host, *target;
        } good[] = {
                { "https://iaas.us-phoenix-1.oraclecloud.com/20160918/instances?a=b", "iaas.us-phoenix-1.oraclecloud.com",
                  "/20160918/instances?a=b" },
                { "http://localhost:7000/api", "localhost:7000", "/api" },
                { "https://h:443/x", "h", "/x" },
                { "http://h:80/x", "h", "/x" },
                { "http://h:443/x", "h:443", "/x" },
                { "https://h", "h", "/" },
                { "https://h?q=1", "h", "/?q=1" },
                { "https://h/p#frag", "h", "/p" },
                { "https://user:pw@h:8443/p", "h:8443", "/p" },
                { "http://[::1]:8080/p", "[::1]:8080", "/p" },
                { "http://[::1]/p", "[::1]", "/p" },
                { "http://127.0.0.1:5000/us-phoenix-1/20160918/x?page=a%3Db", "127.0.0.1:5000",
                  "/us-phoenix-1/20160918/x?page=a%3Db" },
        };
        static const char * const bad[] = {
                "ftp://h/x", "h/x", "https:///x", "https://h:x/", "https://h/a b", "https://h/\xc3\xa4",
        };

        for (size_t i = 0; i < ELEMENTSOF(good); i++) {
                _cleanup_free_ char *h = NULL, *t = NULL;
                ASSERT_OK(oci_url_split(good[i].url, &h, &t));
                ASSERT_STREQ(h, good[i].host);
                ASSERT_STREQ(t, good[i].target);
        }
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                char *h = NULL;
                if (oci_url_split(bad[i], &h, NULL) != -EINVAL)
                        TEST_FAIL("%s accepted", bad[i]);
                ASSERT_NULL(h);
        }
}

TEST(bad_input) {
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *key = load_key("test-key-1024.pkcs1.pem", NULL);
        _cleanup_(oci_signer_freep) OciSigner *s = NULL;
        OciSignedHeaders h = {};
        OciSignHeader nl[] = { { "date", "x\ny: z" } };
        char *x = NULL;
        static const char * const order[] = { "version", "bogus", NULL };

        ASSERT_OK(oci_signer_new(key, "t/u/f", &s));
        ASSERT_ERR(oci_signer_sign(s, "get", "https://h/", NULL, 0, NULL, "d", &h), EINVAL);
        ASSERT_ERR(oci_signer_sign(s, "GET", "https://h/", NULL, 0, NULL, "", &h), EINVAL);
        ASSERT_ERR(oci_signer_sign(s, "GET", "gopher://h/", NULL, 0, NULL, "d", &h), EINVAL);
        ASSERT_ERR(oci_signer_sign(s, "POST", "https://h/", "{}", 2, "text/x\r\ninjected: 1", "d", &h), EINVAL);
        ASSERT_NULL(h.authorization);
        ASSERT_ERR(oci_signing_string(nl, 1, &x, NULL), EINVAL);
        ASSERT_ERR(oci_authorization_format("k", "date", "sig", order, &x), EINVAL);
        ASSERT_ERR(oci_authorization_format("k\"", "date", "sig", NULL, &x), EINVAL);
        ASSERT_NULL(x);
        {
                OciSigner *t = NULL;
                ASSERT_ERR(oci_signer_new(key, "", &t), EINVAL);
        }
}

int main(void) {
        RUN(every_vector);
        RUN(every_key_encoding);
        RUN(empty_body_methods);
        RUN(date_changes_signature);
        RUN(url_split);
        RUN(bad_input);
        return 0;
}
