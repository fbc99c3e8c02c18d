/*
 * The forward 2-D convolution plus bias (NHWC, filter [kh, kw, ci, co]):
 *   out[n, r, q, co] = bias[co] + sum over i, j, c of x[n, r*sh + i*dil_h, q*sw + j*dil_w, c] * w[i, j, c, co],
 * x already padded by the caller. Image patches are read in place (no im2col copy): a block of P
 * output pixels of a row times NV vectors of co is summed in registers over all the taps, each tap's
 * NV filter vectors loaded once and multiplied by the P pixels' input values (splatted). x64 has 16
 * vector registers: P*NV sums, NV filter vectors and a splat must fit in them (BLOCK_PIXELS).
 * Undilated columns (dil_w = 1) make a filter row's taps (j, c) one run of kw*ci consecutive input
 * values, so the innermost loop runs over kw*ci, not ci: the first layers (ci = 1 or 3) too get a
 * loop of some length.
 * The filter is packed first (conv2d_forward_pack_filter): co in blocks of 2 vectors, each block's
 * taps one after another, so that a block reads its filter as one contiguous stream (in [kh, kw,
 * ci, co] it read 32 bytes of every co*4: on 3x3x256x256 every load another cache line, 0.6-0.8x
 * XNNPACK's speed; packed, 1.16-1.28x). bias has co rounded up to 4 floats (the caller pads it); out's
 * rows have co floats, the last vector of a row written lane by lane when co is not a multiple of 4.
 * One call computes the output rows [row_begin, row_end) of the n*oh rows of the batch and writes
 * nothing else, so the threads of a kernel pool each take a range of rows (src/nn/wasm/kernel-pool.ts).
 */
#include "simd.h"

/*
 * Pixels a block for NV (1 or 2) vectors of co: 8 sums. Measured on the zoo's shapes (bench/conv-forward.ts,
 * one thread), 8 sums (4 pixels x 2 vectors, or 2 x 4) ran at 34-39 GFLOP/s, and every blocking with more
 * (3 x 3, 5 x 2, 6 x 2; 13-15 registers with the filter vectors and the splat) ran 10-30% slower:
 * V8's register allocator spills them. 4 x 2 is kept, as its co blocks of 8 fit every co of the zoo
 * (24 and 48 too, which blocks of 4 vectors split badly).
 */
#define BLOCK_PIXELS(NV) ((NV) == 1 ? 8 : 4)

/* How many vectors of co the block starting at vector v0 has: 2, the last 1 when there is an odd number. */
INLINE int block_vectors(int vectors, int v0) { return vectors - v0 < 2 ? 1 : 2; }

/* Lanes [0, lanes) of v to p (the last vector of a row whose co is not a multiple of 4). */
INLINE void store_lanes(float *p, f32x4 v, int lanes) {
  p[0] = wasm_f32x4_extract_lane(v, 0);
  if (lanes > 1) p[1] = wasm_f32x4_extract_lane(v, 1);
  if (lanes > 2) p[2] = wasm_f32x4_extract_lane(v, 2);
}

/*
 * P output pixels (inputs x_pixel_step floats apart) times NV vectors of co: for filter rows i < kh
 * (x_row_step apart), runs j < runs (x_run_step apart) and run values c < run_length. Fully unrolled
 * over P and NV, so the sums stay in registers. `lanes`: how many of the last vector's lanes out
 * has (4 but in a row's last vector of a co that is not a multiple of 4).
 */
#define BLOCK_KERNEL(P, NV)                                                                                    \
  static void block_##P##_##NV(const float *x, int x_pixel_step, long x_row_step, int x_run_step, int kh,      \
                               int runs, int run_length, const float *w, const float *bias,                    \
                               float *out, int out_step, int lanes) {                                          \
    f32x4 acc[P][NV];                                                                                          \
    _Pragma("clang loop unroll(full)") for (int v = 0; v < NV; v++) {                                          \
      f32x4 b = load4(bias + 4 * v);                                                                           \
      _Pragma("clang loop unroll(full)") for (int p = 0; p < P; p++) acc[p][v] = b;                            \
    }                                                                                                          \
    for (int i = 0; i < kh; i++) {                                                                             \
      for (int j = 0; j < runs; j++) {                                                                         \
        const float *xr = x + i * x_row_step + j * x_run_step;                                                 \
        const float *wr = w + (long)(i * runs + j) * run_length * 4 * NV;                                      \
        for (int c = 0; c < run_length; c++) {                                                                 \
          f32x4 f[NV];                                                                                         \
          _Pragma("clang loop unroll(full)") for (int v = 0; v < NV; v++) f[v] = load4(wr + 4 * (NV * c + v));              \
          _Pragma("clang loop unroll(full)") for (int p = 0; p < P; p++) {                                     \
            f32x4 s = wasm_v128_load32_splat(xr + p * x_pixel_step + c);                                       \
            _Pragma("clang loop unroll(full)") for (int v = 0; v < NV; v++) acc[p][v] = madd4(acc[p][v], s, f[v]); \
          }                                                                                                    \
        }                                                                                                      \
      }                                                                                                        \
    }                                                                                                          \
    _Pragma("clang loop unroll(full)") for (int p = 0; p < P; p++) {                                           \
      _Pragma("clang loop unroll(full)") for (int v = 0; v < NV - 1; v++) store4(out + p * out_step + 4 * v, acc[p][v]); \
      if (lanes == 4) store4(out + p * out_step + 4 * (NV - 1), acc[p][NV - 1]);                                \
      else store_lanes(out + p * out_step + 4 * (NV - 1), acc[p][NV - 1], lanes);                              \
    }                                                                                                          \
  }

BLOCK_KERNEL(1, 1)
BLOCK_KERNEL(2, 1)
BLOCK_KERNEL(3, 1)
BLOCK_KERNEL(4, 1)
BLOCK_KERNEL(5, 1)
BLOCK_KERNEL(6, 1)
BLOCK_KERNEL(7, 1)
BLOCK_KERNEL(8, 1)
BLOCK_KERNEL(1, 2)
BLOCK_KERNEL(2, 2)
BLOCK_KERNEL(3, 2)
BLOCK_KERNEL(4, 2)

/* One block of `pixels` (at most BLOCK_PIXELS(nv)) output pixels times `nv` (1 or 2) vectors of co. */
static void block(int pixels, int nv, const float *x, int x_pixel_step, long x_row_step, int x_run_step, int kh,
                  int runs, int run_length, const float *w, const float *bias, float *out, int out_step, int lanes) {
#define CASE(P, V)                                                                                              \
  case (P) * 8 + (V):                                                                                           \
    block_##P##_##V(x, x_pixel_step, x_row_step, x_run_step, kh, runs, run_length, w, bias, out, out_step,      \
                    lanes);                                                                                     \
    return;
  switch (pixels * 8 + nv) {
    CASE(1, 1) CASE(2, 1) CASE(3, 1) CASE(4, 1) CASE(5, 1) CASE(6, 1) CASE(7, 1) CASE(8, 1)
    CASE(1, 2) CASE(2, 2) CASE(3, 2) CASE(4, 2)
  }
#undef CASE
}

/*
 * filter [taps, co] (taps = kh*kw*ci) to packed: for each block of co's vectors (block_vectors), at
 * taps * 4 * (its first vector), [taps, the block's 4 or 8 floats], zeros past co.
 */
EXPORT(conv2d_forward_pack_filter)
void conv2d_forward_pack_filter(const float *filter, float *packed, int taps, int co) {
  int vectors = (co + 3) / 4;
  for (int v0 = 0; v0 < vectors; v0 += 2) {
    int width = 4 * block_vectors(vectors, v0);
    float *block = packed + (long)taps * 4 * v0;
    for (int t = 0; t < taps; t++)
      for (int k = 0; k < width; k++) block[(long)t * width + k] = 4 * v0 + k < co ? filter[(long)t * co + 4 * v0 + k] : 0.0f;
  }
}

/*
 * x: [n, h, w, ci] (padded); packed: the filter packed; bias: [co rounded up to 4]; out: [n, oh, ow, co].
 * For each output row, co's vectors in blocks of 2 (the last 1 when there is an odd number), and for
 * each block the row's pixels in blocks of BLOCK_PIXELS: the block's filter columns (kh*kw*ci*32
 * bytes, 9 KiB for 3x3x32) and the kh input rows it reads stay in L1 along the row.
 */
EXPORT(conv2d_forward)
void conv2d_forward(const float *x, const float *packed, const float *bias, float *out, int h, int w, int ci, int oh,
                    int ow, int co, int kh, int kw, int sh, int sw, int dil_h, int dil_w, int row_begin, int row_end) {
  int vectors = (co + 3) / 4;
  int taps = kh * kw * ci;
  /* Undilated columns: a filter row's taps are one run of kw*ci input values. */
  int runs = dil_w == 1 ? 1 : kw;
  int run_length = dil_w == 1 ? kw * ci : ci;
  int x_run_step = dil_w * ci;
  long x_row_step = (long)dil_h * w * ci;
  for (int row = row_begin; row < row_end; row++) {
    int b = row / oh, r = row % oh;
    const float *x_row = x + ((long)b * h + (long)r * sh) * w * ci;
    float *out_row = out + (long)row * ow * co;
    for (int v0 = 0; v0 < vectors; v0 += 2) {
      int nv = block_vectors(vectors, v0);
      int lanes = v0 + nv == vectors && co % 4 != 0 ? co % 4 : 4;
      int pixels = BLOCK_PIXELS(nv);
      for (int q = 0; q < ow; q += pixels) {
        int p = ow - q < pixels ? ow - q : pixels;
        block(p, nv, x_row + (long)q * sw * ci, sw * ci, x_row_step, x_run_step, kh, runs, run_length,
              packed + (long)taps * 4 * v0, bias + 4 * v0, out_row + (long)q * co + 4 * v0, co, lanes);
      }
    }
  }
}
