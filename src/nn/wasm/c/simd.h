/*
 * Shared helpers for trainyard's wasm kernels.
 *
 * These kernels run on tfjs-backend-wasm's own linear memory (imported as env.memory), so they must
 * never touch memory they were not given: no static data (it would be copied over tfjs's heap at
 * instantiation), no shadow stack (its pointer would start inside tfjs's data), no malloc. Every
 * buffer, including scratch space, is passed in by the caller. The build script checks the binary
 * for data segments and for any use of __stack_pointer.
 */
#ifndef TRAINYARD_SIMD_H
#define TRAINYARD_SIMD_H

#include <stdint.h>
#include <wasm_simd128.h>

#define EXPORT(name) __attribute__((export_name(#name)))
#define INLINE static inline __attribute__((always_inline))

typedef v128_t f32x4;

INLINE f32x4 splat(float v) { return wasm_f32x4_splat(v); }
INLINE f32x4 load4(const float *p) { return wasm_v128_load(p); }
INLINE void store4(float *p, f32x4 v) { wasm_v128_store(p, v); }
INLINE f32x4 add4(f32x4 a, f32x4 b) { return wasm_f32x4_add(a, b); }
INLINE f32x4 sub4(f32x4 a, f32x4 b) { return wasm_f32x4_sub(a, b); }
INLINE f32x4 mul4(f32x4 a, f32x4 b) { return wasm_f32x4_mul(a, b); }
/* a + b * c (wasm SIMD has no fused multiply-add outside relaxed SIMD). */
INLINE f32x4 madd4(f32x4 a, f32x4 b, f32x4 c) { return wasm_f32x4_add(a, wasm_f32x4_mul(b, c)); }

/*
 * Cephes' expf, to about 1 ulp: the reduction x = n ln2 + r, |r| <= ln2/2, and a degree-5
 * polynomial for exp(r). Returns exp(r); *t gets x log2(e) + 1.5 * 2^23, whose bits are
 * 0x4B400000 + n, so that 2^n can be built in the exponent bits. No table, so no static data.
 * Cheap in V8: n rounded by adding 1.5 * 2^23 rather than f32x4.nearest and i32x4.trunc_sat (a long
 * sequence on x64). For |x| below about 89; callers clamp.
 */
INLINE f32x4 exp_reduced(f32x4 x, f32x4 *t) {
  const float round_magic = 12582912.0f; /* 1.5 * 2^23 */
  *t = add4(mul4(x, splat(1.44269504088896341f)), splat(round_magic));
  f32x4 n = sub4(*t, splat(round_magic));
  f32x4 r = sub4(x, mul4(n, splat(0.693359375f)));
  r = sub4(r, mul4(n, splat(-2.12194440e-4f)));
  f32x4 p = splat(1.9875691500e-4f);
  p = madd4(splat(1.3981999507e-3f), p, r);
  p = madd4(splat(8.3334519073e-3f), p, r);
  p = madd4(splat(4.1665795894e-2f), p, r);
  p = madd4(splat(1.6666665459e-1f), p, r);
  p = madd4(splat(5.0000001201e-1f), p, r);
  return add4(madd4(r, p, mul4(r, r)), splat(1.0f));
}

/*
 * 2^n for n in [-126, 127], built in the exponent bits: (n + 127) << 23, from an i32 n or from
 * exp_reduced's t (only the low 9 bits survive the shift, and t's are n's).
 */
INLINE v128_t two_to_n(v128_t t) { return wasm_i32x4_shl(wasm_i32x4_add(t, wasm_i32x4_splat(127)), 23); }

/*
 * exp(x) for x <= 0. Below -87.33 exp(x) is smaller than the smallest normal float, so x is
 * clamped there: the result (about 1.2e-38) is 0 to float precision, and exp(x) - 1 rounds to
 * exactly -1 either way. pmax (one maxps) rather than f32x4.max (NaN-propagating, several
 * instructions in V8); a NaN x still gives NaN here.
 */
INLINE f32x4 exp_nonpositive(f32x4 x) {
  f32x4 t;
  f32x4 p = exp_reduced(wasm_f32x4_pmax(x, splat(-87.33654f)), &t);
  return mul4(p, two_to_n(t));
}

/* exp(min(x, 0)) - 1: the ELU's negative branch, never overflowing; exactly 0 for x >= 0. */
INLINE f32x4 expm1_of_negative_part(f32x4 x) {
  return sub4(exp_nonpositive(wasm_f32x4_pmin(x, splat(0.0f))), splat(1.0f));
}

/* Lane-wise x > 0 ? a : b. */
INLINE f32x4 select_positive(f32x4 x, f32x4 a, f32x4 b) {
  return wasm_v128_bitselect(a, b, wasm_f32x4_gt(x, splat(0.0f)));
}

/*
 * Channel counts that are not a multiple of 4 leave a tail of 1 to 3 channels per row. Tails go
 * one value at a time: a splat through the same vector code, lane 0 kept.
 */
INLINE float lane0(f32x4 v) { return wasm_f32x4_extract_lane(v, 0); }

INLINE float lane_sum(f32x4 v) {
  return wasm_f32x4_extract_lane(v, 0) + wasm_f32x4_extract_lane(v, 1) + wasm_f32x4_extract_lane(v, 2) +
         wasm_f32x4_extract_lane(v, 3);
}

#endif
