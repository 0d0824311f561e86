#ifndef OMNIGATE_CRYPTO_SHIM_H
#define OMNIGATE_CRYPTO_SHIM_H
#include <stddef.h>
#include <openssl/evp.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/hmac.h>

// SHA-256 of `length` bytes into `out` (32 bytes); 1 on success.
static inline int omnigate_sha256(const void *data, size_t length, unsigned char *out) {
    unsigned int size = 0;
    return EVP_Digest(data, length, out, &size, EVP_sha256(), NULL) == 1 && size == 32;
}
// HMAC-SHA256 of `length` bytes with `key` into `out` (32 bytes); 1 on success.
static inline int omnigate_hmac_sha256(const void *key, int keyLength, const void *data, size_t length, unsigned char *out) {
    unsigned int size = 0;
    return HMAC(EVP_sha256(), key, keyLength, (const unsigned char *)data, length, out, &size) != NULL && size == 32;
}
// MD5 of `length` bytes into `out` (16 bytes); 1 on success. Only for SIP digest HA1 (RFC 2617), never on its own.
static inline int omnigate_md5(const void *data, size_t length, unsigned char *out) {
    unsigned int size = 0;
    return EVP_Digest(data, length, out, &size, EVP_md5(), NULL) == 1 && size == 16;
}
#endif
