// libcrypto (OpenSSL 3) for Swift: headers plus wrappers for what Swift cannot call directly.
#pragma once
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <openssl/core_names.h>
#include <openssl/params.h>

/// OPENSSL_free is a macro.
static inline void ccrypto_free(void *p) { OPENSSL_free(p); }

/// Initialise libcrypto without an atexit handler (linking libcurl and libcrypto together
/// otherwise risks a double free at process exit).
static inline int ccrypto_init(void) {
    return OPENSSL_init_crypto(OPENSSL_INIT_NO_ATEXIT, NULL);
}


/// HKDF-SHA256 in one call with a fetched HKDF implementation (OSSL_PARAM keeps pointers to its
/// key names, so the parameter array is built here where the names are static).
static inline int ccrypto_hkdf_sha256(EVP_KDF *kdf, const unsigned char *key, size_t key_len, const unsigned char *salt, size_t salt_len,
                                      const unsigned char *info, size_t info_len, unsigned char *out, size_t out_len) {
    if (kdf == NULL) return 0;
    EVP_KDF_CTX *ctx = EVP_KDF_CTX_new(kdf);
    if (ctx == NULL) return 0;
    OSSL_PARAM params[5];
    int n = 0;
    params[n++] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0);
    params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)key, key_len);
    if (salt_len > 0) params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, salt_len);
    if (info_len > 0) params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info, info_len);
    params[n] = OSSL_PARAM_construct_end();
    int ok = EVP_KDF_derive(ctx, out, out_len, params);
    EVP_KDF_CTX_free(ctx);
    return ok;
}
