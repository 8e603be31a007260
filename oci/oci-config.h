/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The OCI CLI/SDK config file (~/.oci/config) and the API signing key it points to.
 *
 * Format (INI, as the SDKs read it): "[PROFILE]" section headers, "key=value" lines split at the
 * first '=', keys and values trimmed, keys case-insensitive, lines starting with '#' or ';' and
 * blank lines ignored. A key/value line before the first section, a line that is neither, and a
 * section or key given twice are errors ("FILE:LINE: ..."). Keys of [DEFAULT] are visible in
 * every profile unless the profile sets them itself (Python/Java semantics, per key). Keys this
 * module does not use are ignored: the file is shared with the CLI. */

#include <openssl/evp.h>
#include <stdbool.h>

#include "macro.h"

typedef struct OciProfile {
        char *name;
        char *user;
        char *tenancy;
        char *fingerprint;
        char *key_file;          /* "~/" expanded */
        char *pass_phrase;       /* also accepted as "passphrase" (Go SDK); NULL if unset */
        char *region;
        bool pass_phrase_inherited; /* pass_phrase came from [DEFAULT], not from this profile */
} OciProfile;

/* Reads profile `profile` (NULL = "DEFAULT") of the config file at path. Missing keys stay NULL;
 * use oci_credentials_load() for a validated, complete set. Errors: -ENOENT etc. for the file,
 * -EINVAL for syntax errors, -ESRCH when the profile does not exist; ret_error (optional) gets a
 * one-line message. */
int oci_profile_load(const char *path, const char *profile, OciProfile **ret, char **ret_error);
OciProfile *oci_profile_free(OciProfile *p);
DEFINE_TRIVIAL_CLEANUP_FUNC(OciProfile*, oci_profile_free);

/* Loads a PEM RSA private key: PKCS#1 ("BEGIN RSA PRIVATE KEY", optionally legacy-encrypted with
 * Proc-Type/DEK-Info) or PKCS#8 ("BEGIN PRIVATE KEY" / "BEGIN ENCRYPTED PRIVATE KEY"). pass_phrase
 * is used only if the key is encrypted. Refuses a file that group or others may access (-EPERM,
 * the message says to run chmod 600). Errors: -ENOKEY (encrypted, no pass phrase),
 * -EKEYREJECTED (wrong pass phrase), -EBADMSG (not a PEM private key), -EPROTONOSUPPORT (not
 * RSA), file errors as -errno. */
int oci_key_load(const char *path, const char *pass_phrase, EVP_PKEY **ret, char **ret_error);

/* Same checks except the file permission check, from a PEM string (tests, key content). */
int oci_key_load_pem(const char *pem, size_t size, const char *pass_phrase, EVP_PKEY **ret, char **ret_error);

/* The OCI API key fingerprint: MD5 of the DER SubjectPublicKeyInfo, lowercase hex pairs joined
 * by ':' (47 characters + NUL). */
#define OCI_FINGERPRINT_MAX 48
int oci_key_fingerprint(EVP_PKEY *key, char ret[static OCI_FINGERPRINT_MAX]);

/* True if s looks like an MD5 fingerprint (16 hex pairs joined by ':', either case). */
bool oci_fingerprint_valid(const char *s);

/* Everything needed to sign requests as a user (API key auth). */
typedef struct OciCredentials {
        char *profile;
        char *tenancy;
        char *user;
        char *fingerprint;       /* lowercase, verified against the key */
        char *region;            /* the profile's region, or NULL */
        char *key_file;
        char *key_id;            /* "TENANCY/USER/FINGERPRINT" */
        EVP_PKEY *key;
} OciCredentials;

/* Loads profile `profile` from path, requires user, tenancy, fingerprint and key_file (region is
 * optional: the daemon config may list regions itself), loads the key and checks that the
 * fingerprint matches it (-EKEYREJECTED with a message naming both fingerprints otherwise). */
int oci_credentials_load(const char *path, const char *profile, OciCredentials **ret, char **ret_error);
OciCredentials *oci_credentials_free(OciCredentials *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(OciCredentials*, oci_credentials_free);

static inline void EVP_PKEY_freep(EVP_PKEY **k) {
        if (*k) {
                EVP_PKEY_free(*k);
                *k = NULL;
        }
}
