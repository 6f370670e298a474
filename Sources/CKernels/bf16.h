#ifndef NK_BF16_H
#define NK_BF16_H
#include <stdint.h>
#include <string.h>

/* bfloat16 = the upper 16 bits of an IEEE-754 binary32 (1 sign, 8 exponent, 7 mantissa bits).
 * Round to nearest, ties to even, on the 16 discarded bits: add 0x7FFF plus the lowest kept bit, then
 * truncate (the carry may ripple into the exponent, which is the correct rounding up to the next binade,
 * and rounds the largest finites to ±inf as IEEE round-to-nearest does). ±inf has zero low bits and is
 * unchanged. NaN must not be rounded (a carry could turn it into inf): it is truncated and its quiet
 * bit (0x0040 in bf16) set. Same rule as Intel's VCVTNEPS2BF16 and PyTorch's round_to_nearest_even. */
static inline uint16_t nk_bf16_rne(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    uint32_t rounded = (u + 0x7FFFu + ((u >> 16) & 1u)) >> 16;
    uint32_t nan = (u >> 16) | 0x0040u;
    int is_nan = (u & 0x7FFFFFFFu) > 0x7F800000u;
    return (uint16_t)(is_nan ? nan : rounded);
}

#endif
