#ifndef CMODELPULLSHA_H
#define CMODELPULLSHA_H

// SHA-256 compression with the CPU's SHA instructions, for ModelPullCore's `SHA256`.
//
// Only the block function lives in C: Swift cannot reach the x86 SHA-NI or ARMv8 SHA2
// instructions (no intrinsics, no per-function target features), while padding, buffering and
// the portable fallback stay in Swift where the rest of the hashing code is tested.

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Which accelerated block function this CPU and build can run.
typedef enum {
    /// None: the caller must use its portable implementation.
    MODELPULL_SHA256_NONE = 0,
    /// x86-64 SHA extensions (SHA-NI) with SSSE3 and SSE4.1.
    MODELPULL_SHA256_X86_SHANI = 1,
    /// ARMv8 cryptography extensions (SHA256H/SHA256H2/SHA256SU0/SHA256SU1).
    MODELPULL_SHA256_ARMV8_SHA2 = 2,
} modelpull_sha256_accel;

/// Asks the CPU (cpuid) or the kernel (getauxval) on every call: cheap, but callers should cache
/// the answer. Never returns an implementation this binary was built without.
modelpull_sha256_accel modelpull_sha256_detect(void);

/// Compresses `blocks` consecutive 64-byte blocks at `data` (any alignment) into `state`, the
/// eight chaining words H0…H7 in native integer form (FIPS 180-4 §6.2), using `accel`.
/// Must only be called with a value `modelpull_sha256_detect()` returned other than NONE;
/// returns 0 then, and -1 (state untouched) for an implementation this build does not have.
int modelpull_sha256_blocks(modelpull_sha256_accel accel, uint32_t state[8],
                            const void *data, size_t blocks);

#ifdef __cplusplus
}
#endif

#endif
