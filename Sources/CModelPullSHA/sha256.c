// SHA-256 block functions on the CPU's SHA instructions, plus the runtime check for them.
//
// Each accelerated function carries its own `target` attribute so the package needs no global
// compiler flags: the binary still runs on CPUs without the extensions, and only calls these
// after `modelpull_sha256_detect()` said the CPU has them. Everything architecture-specific is
// behind preprocessor guards so this file compiles (to the detector returning NONE) anywhere.

#include "CModelPullSHA.h"

// The FIPS 180-4 §4.2.2 round constants, 16-byte aligned for vector loads.
#if defined(__x86_64__) || defined(__i386__) || defined(__aarch64__) || defined(_M_ARM64)
static const uint32_t K256[64] __attribute__((aligned(16))) = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};
#endif

// MARK: - x86-64 SHA extensions

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__clang__) || defined(__GNUC__))
#define MODELPULL_HAVE_X86_SHANI 1
#include <cpuid.h>
#include <immintrin.h>

#define X86_TARGET __attribute__((target("sha,sse4.1,ssse3")))

// One group of four rounds, t = 4*g … 4*g+3, on message vector `w` (W[t..t+3]).
// SHA256RNDS2 does two rounds on the low 64 bits of its third operand, so the sum W+K is fed
// twice, the second time with its high half moved down.
#define X86_ROUNDS(g, w)                                                                  \
    do {                                                                                  \
        msg = _mm_add_epi32((w), _mm_load_si128((const __m128i *)&K256[4 * (g)]));        \
        cdgh = _mm_sha256rnds2_epu32(cdgh, abef, msg);                                    \
        msg = _mm_shuffle_epi32(msg, 0x0E);                                               \
        abef = _mm_sha256rnds2_epu32(abef, cdgh, msg);                                    \
    } while (0)

// Same, interleaving the message schedule (FIPS 180-4 §6.2.2 step 1) the instructions split in
// two halves: `next` (W for group g+1) gets its σ1 half once `cur` is known, and `old` (W for
// group g+3, still holding group g-1's words) gets its σ0 half.
#define X86_ROUNDS_SCHED(g, cur, prev, next, old, do_msg2, do_msg1)                       \
    do {                                                                                  \
        msg = _mm_add_epi32((cur), _mm_load_si128((const __m128i *)&K256[4 * (g)]));      \
        cdgh = _mm_sha256rnds2_epu32(cdgh, abef, msg);                                    \
        if (do_msg2) {                                                                    \
            (next) = _mm_add_epi32((next), _mm_alignr_epi8((cur), (prev), 4));            \
            (next) = _mm_sha256msg2_epu32((next), (cur));                                 \
        }                                                                                 \
        msg = _mm_shuffle_epi32(msg, 0x0E);                                               \
        abef = _mm_sha256rnds2_epu32(abef, cdgh, msg);                                    \
        if (do_msg1) (old) = _mm_sha256msg1_epu32((old), (cur));                          \
    } while (0)

X86_TARGET
static void sha256_blocks_x86(uint32_t state[8], const uint8_t *data, size_t blocks) {
    // Message words are big-endian: byte-swap each 32-bit lane.
    const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bLL, 0x0405060700010203LL);

    // SHA256RNDS2 wants the state as ABEF and CDGH (most significant lane first).
    __m128i dcba = _mm_loadu_si128((const __m128i *)&state[0]);
    __m128i hgfe = _mm_loadu_si128((const __m128i *)&state[4]);
    __m128i cdab = _mm_shuffle_epi32(dcba, 0xB1);
    __m128i efgh = _mm_shuffle_epi32(hgfe, 0x1B);
    __m128i abef = _mm_alignr_epi8(cdab, efgh, 8);
    __m128i cdgh = _mm_blend_epi16(efgh, cdab, 0xF0);

    while (blocks--) {
        const __m128i abef_save = abef, cdgh_save = cdgh;
        __m128i msg;
        __m128i w0 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(data + 0)), bswap);
        __m128i w1 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(data + 16)), bswap);
        __m128i w2 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(data + 32)), bswap);
        __m128i w3 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(data + 48)), bswap);

        // Group g uses w[g%4]; it finishes w[(g+1)%4] (msg2, groups 3…14) and starts
        // w[(g-1)%4] (msg1, groups 1…12). The 0/1 flags are constants the compiler folds.
        X86_ROUNDS(0, w0);
        X86_ROUNDS_SCHED(1, w1, w0, w2, w0, 0, 1);
        X86_ROUNDS_SCHED(2, w2, w1, w3, w1, 0, 1);
        X86_ROUNDS_SCHED(3, w3, w2, w0, w2, 1, 1);
        X86_ROUNDS_SCHED(4, w0, w3, w1, w3, 1, 1);
        X86_ROUNDS_SCHED(5, w1, w0, w2, w0, 1, 1);
        X86_ROUNDS_SCHED(6, w2, w1, w3, w1, 1, 1);
        X86_ROUNDS_SCHED(7, w3, w2, w0, w2, 1, 1);
        X86_ROUNDS_SCHED(8, w0, w3, w1, w3, 1, 1);
        X86_ROUNDS_SCHED(9, w1, w0, w2, w0, 1, 1);
        X86_ROUNDS_SCHED(10, w2, w1, w3, w1, 1, 1);
        X86_ROUNDS_SCHED(11, w3, w2, w0, w2, 1, 1);
        X86_ROUNDS_SCHED(12, w0, w3, w1, w3, 1, 1);
        X86_ROUNDS_SCHED(13, w1, w0, w2, w0, 1, 0);
        X86_ROUNDS_SCHED(14, w2, w1, w3, w1, 1, 0);
        X86_ROUNDS(15, w3);

        abef = _mm_add_epi32(abef, abef_save);
        cdgh = _mm_add_epi32(cdgh, cdgh_save);
        data += 64;
    }

    // Back from ABEF/CDGH to H0…H7 in memory order.
    __m128i feba = _mm_shuffle_epi32(abef, 0x1B);
    __m128i dchg = _mm_shuffle_epi32(cdgh, 0xB1);
    _mm_storeu_si128((__m128i *)&state[0], _mm_blend_epi16(feba, dchg, 0xF0));
    _mm_storeu_si128((__m128i *)&state[4], _mm_alignr_epi8(dchg, feba, 8));
}

static int x86_has_shani(void) {
    unsigned int eax, ebx, ecx, edx;
    if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return 0;
    // Leaf 1 ECX: bit 9 SSSE3 (pshufb), bit 19 SSE4.1 (pblendw); palignr is SSSE3 too.
    if (!(ecx & (1u << 9)) || !(ecx & (1u << 19))) return 0;
    // __get_cpuid_count checks the maximum leaf, so a CPU without leaf 7 answers 0 here.
    if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) return 0;
    return (ebx & (1u << 29)) != 0;  // Leaf 7 subleaf 0 EBX bit 29: SHA extensions.
}
#endif

// MARK: - ARMv8 cryptography extensions

// Built in only when the compiler can target the SHA2 instructions for one function: either
// the whole build already enables them (Apple silicon always does, so does -march=…+crypto),
// or clang is new enough (17+, every Swift 6 toolchain) to declare its arm_neon.h intrinsics
// with per-function target attributes, which ours then matches.
#if defined(__aarch64__) && (defined(__ARM_FEATURE_SHA2) || defined(__ARM_FEATURE_CRYPTO))
#define MODELPULL_HAVE_ARM_SHA2 1
#define ARM_TARGET
#elif defined(__aarch64__) && defined(__clang__) && !defined(__apple_build_version__) \
    && __clang_major__ >= 17
#define MODELPULL_HAVE_ARM_SHA2 1
#define ARM_TARGET __attribute__((target("sha2,neon")))
#endif

#ifdef MODELPULL_HAVE_ARM_SHA2
#include <arm_neon.h>
#if defined(__linux__) && !defined(MODELPULL_SHA_FREESTANDING_TEST)
#include <sys/auxv.h>
#ifndef HWCAP_SHA2
#define HWCAP_SHA2 (1UL << 6)  // arch/arm64/include/uapi/asm/hwcap.h
#endif
#endif

// Four rounds t = 4*g … 4*g+3 with W+K in `wk`; SHA256H2 needs the ABCD from before SHA256H.
#define ARM_ROUNDS(wk)                                 \
    do {                                               \
        const uint32x4_t abcd_in = abcd;               \
        abcd = vsha256hq_u32(abcd, efgh, (wk));        \
        efgh = vsha256h2q_u32(efgh, abcd_in, (wk));    \
    } while (0)

// Group g with its words in `w0`, which then become W for group g+4 (from groups g+1…g+3);
// the sum W+K is taken first because the schedule overwrites w0.
#define ARM_ROUNDS_SCHED(g, w0, w1, w2, w3)                                    \
    do {                                                                       \
        const uint32x4_t wk = vaddq_u32((w0), vld1q_u32(&K256[4 * (g)]));      \
        (w0) = vsha256su1q_u32(vsha256su0q_u32((w0), (w1)), (w2), (w3));       \
        ARM_ROUNDS(wk);                                                        \
    } while (0)

#define ARM_ROUNDS_LAST(g, w0) ARM_ROUNDS(vaddq_u32((w0), vld1q_u32(&K256[4 * (g)])))

ARM_TARGET
static void sha256_blocks_arm(uint32_t state[8], const uint8_t *data, size_t blocks) {
    uint32x4_t abcd = vld1q_u32(&state[0]);
    uint32x4_t efgh = vld1q_u32(&state[4]);

    while (blocks--) {
        const uint32x4_t abcd_save = abcd, efgh_save = efgh;
        // vld1q_u8 has no alignment requirement; vrev32q_u8 makes the words big-endian.
        uint32x4_t w0 = vreinterpretq_u32_u8(vrev32q_u8(vld1q_u8(data + 0)));
        uint32x4_t w1 = vreinterpretq_u32_u8(vrev32q_u8(vld1q_u8(data + 16)));
        uint32x4_t w2 = vreinterpretq_u32_u8(vrev32q_u8(vld1q_u8(data + 32)));
        uint32x4_t w3 = vreinterpretq_u32_u8(vrev32q_u8(vld1q_u8(data + 48)));

        ARM_ROUNDS_SCHED(0, w0, w1, w2, w3);
        ARM_ROUNDS_SCHED(1, w1, w2, w3, w0);
        ARM_ROUNDS_SCHED(2, w2, w3, w0, w1);
        ARM_ROUNDS_SCHED(3, w3, w0, w1, w2);
        ARM_ROUNDS_SCHED(4, w0, w1, w2, w3);
        ARM_ROUNDS_SCHED(5, w1, w2, w3, w0);
        ARM_ROUNDS_SCHED(6, w2, w3, w0, w1);
        ARM_ROUNDS_SCHED(7, w3, w0, w1, w2);
        ARM_ROUNDS_SCHED(8, w0, w1, w2, w3);
        ARM_ROUNDS_SCHED(9, w1, w2, w3, w0);
        ARM_ROUNDS_SCHED(10, w2, w3, w0, w1);
        ARM_ROUNDS_SCHED(11, w3, w0, w1, w2);
        ARM_ROUNDS_LAST(12, w0);
        ARM_ROUNDS_LAST(13, w1);
        ARM_ROUNDS_LAST(14, w2);
        ARM_ROUNDS_LAST(15, w3);

        abcd = vaddq_u32(abcd, abcd_save);
        efgh = vaddq_u32(efgh, efgh_save);
        data += 64;
    }

    vst1q_u32(&state[0], abcd);
    vst1q_u32(&state[4], efgh);
}

static int arm_has_sha2(void) {
#if defined(__APPLE__) || defined(__ARM_FEATURE_SHA2) || defined(__ARM_FEATURE_CRYPTO) \
    || defined(MODELPULL_SHA_FREESTANDING_TEST)
    // Every Apple arm64 CPU has them, and a build that enabled them for all code would
    // already fault elsewhere on a CPU without them.
    return 1;
#elif defined(__linux__)
    return (getauxval(AT_HWCAP) & HWCAP_SHA2) != 0;
#else
    // No portable way to ask (e.g. the BSDs differ); stay on the portable path.
    return 0;
#endif
}
#endif

// MARK: - Dispatch

modelpull_sha256_accel modelpull_sha256_detect(void) {
#ifdef MODELPULL_HAVE_X86_SHANI
    if (x86_has_shani()) return MODELPULL_SHA256_X86_SHANI;
#endif
#ifdef MODELPULL_HAVE_ARM_SHA2
    if (arm_has_sha2()) return MODELPULL_SHA256_ARMV8_SHA2;
#endif
    return MODELPULL_SHA256_NONE;
}

int modelpull_sha256_blocks(modelpull_sha256_accel accel, uint32_t state[8],
                            const void *data, size_t blocks) {
    switch (accel) {
#ifdef MODELPULL_HAVE_X86_SHANI
    case MODELPULL_SHA256_X86_SHANI:
        sha256_blocks_x86(state, (const uint8_t *)data, blocks);
        return 0;
#endif
#ifdef MODELPULL_HAVE_ARM_SHA2
    case MODELPULL_SHA256_ARMV8_SHA2:
        sha256_blocks_arm(state, (const uint8_t *)data, blocks);
        return 0;
#endif
    default:
        (void)state, (void)data, (void)blocks;  // unused where no accelerated path is built
        return -1;
    }
}
