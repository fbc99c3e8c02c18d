/*
 * out = aᵀ · b for row-major a [m, k] and b [m, n]: out[k, n] = sum over i of a[i, k] * b[i, n].
 * This is a fully connected layer's weight gradient (a: its input, b: dy), which XNNPACK only
 * offers with a transposed operand (slow) or after transposing the large input. Here 8 values of k
 * (two vectors) and up to 5 of n are summed over all of m in registers, reading a in place.
 */
#include "simd.h"

#define N_BLOCK 5

/* Sums for k in [k0, k0 + 8) and NN values of n from n0, written to out. Fully unrolled. */
#define BLOCK_KERNEL(NN)                                                                                      \
  static void block_kernel_##NN(const float *a, const float *b, float *out, int m, int k, int n, int k0, int n0) { \
    f32x4 acc[NN][2];                                                                                         \
    _Pragma("clang loop unroll(full)") for (int j = 0; j < NN; j++) acc[j][0] = acc[j][1] = splat(0.0f);      \
    for (int i = 0; i < m; i++) {                                                                             \
      const float *ar = a + (long)i * k + k0;                                                                 \
      f32x4 a0 = load4(ar), a1 = load4(ar + 4);                                                               \
      _Pragma("clang loop unroll(full)") for (int j = 0; j < NN; j++) {                                       \
        f32x4 bv = wasm_v128_load32_splat(b + (long)i * n + n0 + j);                                          \
        acc[j][0] = madd4(acc[j][0], a0, bv);                                                                 \
        acc[j][1] = madd4(acc[j][1], a1, bv);                                                                 \
      }                                                                                                       \
    }                                                                                                         \
    _Pragma("clang loop unroll(full)") for (int j = 0; j < NN; j++) {                                         \
      float *o = out + (long)k0 * n + n0 + j;                                                                 \
      o[0 * n] = wasm_f32x4_extract_lane(acc[j][0], 0);                                                       \
      o[1 * n] = wasm_f32x4_extract_lane(acc[j][0], 1);                                                       \
      o[2 * n] = wasm_f32x4_extract_lane(acc[j][0], 2);                                                       \
      o[3 * n] = wasm_f32x4_extract_lane(acc[j][0], 3);                                                       \
      o[4 * n] = wasm_f32x4_extract_lane(acc[j][1], 0);                                                       \
      o[5 * n] = wasm_f32x4_extract_lane(acc[j][1], 1);                                                       \
      o[6 * n] = wasm_f32x4_extract_lane(acc[j][1], 2);                                                       \
      o[7 * n] = wasm_f32x4_extract_lane(acc[j][1], 3);                                                       \
    }                                                                                                         \
  }

BLOCK_KERNEL(5)
BLOCK_KERNEL(4)
BLOCK_KERNEL(3)
BLOCK_KERNEL(2)
BLOCK_KERNEL(1)

static void block_kernel(int nn, const float *a, const float *b, float *out, int m, int k, int n, int k0, int n0) {
  switch (nn) {
    case 5: block_kernel_5(a, b, out, m, k, n, k0, n0); return;
    case 4: block_kernel_4(a, b, out, m, k, n, k0, n0); return;
    case 3: block_kernel_3(a, b, out, m, k, n, k0, n0); return;
    case 2: block_kernel_2(a, b, out, m, k, n, k0, n0); return;
    default: block_kernel_1(a, b, out, m, k, n, k0, n0); return;
  }
}

EXPORT(matmul_at_b)
void matmul_at_b(const float *a, const float *b, float *out, int m, int k, int n) {
  int k_whole = k & ~7;
  for (int k0 = 0; k0 < k_whole; k0 += 8)
    for (int n0 = 0; n0 < n; n0 += N_BLOCK) block_kernel(n - n0 < N_BLOCK ? n - n0 : N_BLOCK, a, b, out, m, k, n, k0, n0);
  /* The last k % 8 rows of out, one value at a time. */
  for (int kk = k_whole; kk < k; kk++)
    for (int j = 0; j < n; j++) {
      float s = 0.0f;
      for (int i = 0; i < m; i++) s += a[(long)i * k + kk] * b[(long)i * n + j];
      out[(long)kk * n + j] = s;
    }
}
