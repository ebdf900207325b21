// SHA-256 (FIPS 180-4), used for input digests in provenance.
#ifndef NQ_SHA256_H
#define NQ_SHA256_H
#include <stddef.h>
#include <stdint.h>
typedef struct { uint32_t h[8]; uint64_t nbytes; uint8_t buf[64]; size_t nbuf; } sha256_ctx;
void sha256_init(sha256_ctx *c);
void sha256_update(sha256_ctx *c, const void *data, size_t n);
void sha256_final(sha256_ctx *c, uint8_t out[32]);
// hex digest of a buffer / of a file (streamed); file version returns -1 on I/O failure
void sha256_hex(const void *data, size_t n, char hex[65]);
int sha256_file_hex(const char *path, char hex[65]);
#endif
