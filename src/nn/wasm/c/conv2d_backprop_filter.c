/*
 * The filter gradient of a 2-D convolution (NHWC, filter [kh, kw, ci, co]):
 *   dw[i, j, ci, co] = sum over n, oh, ow of x[n, oh*sh + i*dil_h, ow*sw + j*dil_w, ci] * dy[n, oh, ow, co],
 * x already padded by the caller; a dilated filter's taps are read dil_h rows and dil_w columns apart, so
 * no zero-spread filter is ever made. Image patches are read in place (no im2col copy, no transpose):
 * for each band of output rows of an image and each filter tap (i, j, ci), the band's dy vectors are
 * multiplied by the tap's input values and summed in registers, and the band's sums are added to
 * dw. A band is as many rows as keep its dy within BAND_BYTES (a part of L1, as every tap reads it
 * again): on the small feature maps of deeper layers, 8 columns a row, adding to dw after every
 * row cost as much as the products.
 * co is vectorised: dy's rows and dw's rows have `co_stride` floats, a multiple of 4 (the caller
 * pads co when it is not).
 * One call computes dw's rows of the taps [tap_begin, tap_end) only and writes nothing else, so
 * the threads of a kernel pool each take a range of taps (src/nn/wasm/kernel-pool.ts).
 */
#include "simd.h"

#define BAND_BYTES 16384

/*
 * An empty asm statement that the compiler must assume changes the pointers, so that it cannot
 * rewrite them as one shared counter plus bases (loop strength reduction did: each load then needed
 * an add of its own, `dy + 16` included, since wasm's load offset only takes a constant added to a
 * pointer known not to wrap). Walked as themselves, the pointers' loads carry their constant
 * offsets, and V8 emits 4 fewer address computations per column of the 2 x 4 kernel
 * (27 instructions for 8 multiply-adds instead of 32): 33-38 -> 36-41 GFLOP/s on the zoo's shapes
 * (a micro-benchmark of the kernel alone, interleaved with the previous version, one thread).
 */
#define KEEP_POINTERS(a, b, c) __asm__("" : "+r"(a), "+r"(b), "+r"(c))

/*
 * Sums over `rows` output rows (input rows `x_row_step` floats apart) for TAPS taps
 * (input pointers x0, x1) and NV vectors of co, added into dw0, dw1. Fully unrolled, so the sums
 * stay in registers.
 */
#define ROW_KERNEL(TAPS, NV)                                                                                   \
  static void row_kernel_##TAPS##_##NV(const float *x0, const float *x1, int x_step, long x_row_step,          \
                                       const float *dy, int co_stride, int rows, int width, float *dw0,         \
                                       float *dw1) {                                                            \
    float *dws[2] = {dw0, dw1};                                                                                \
    f32x4 acc[TAPS][NV];                                                                                       \
    _Pragma("clang loop unroll(full)") for (int t = 0; t < TAPS; t++)                                          \
      _Pragma("clang loop unroll(full)") for (int v = 0; v < NV; v++) acc[t][v] = splat(0.0f);                 \
    const float *dy_at = dy;                                                                                   \
    for (int r = 0; r < rows; r++) {                                                                           \
      const float *xa = x0 + r * x_row_step, *xb = x1 + r * x_row_step;                                        \
      const float *dy_end = dy_at + (long)width * co_stride;                                                   \
      for (; dy_at != dy_end; dy_at += co_stride, xa += x_step, xb += x_step) {                                \
        KEEP_POINTERS(dy_at, xa, xb);                                                                          \
        f32x4 d[NV];                                                                                           \
        _Pragma("clang loop unroll(full)") for (int v = 0; v < NV; v++) d[v] = load4(dy_at + 4 * v);           \
        const float *xs[2] = {xa, xb};                                                                         \
        _Pragma("clang loop unroll(full)") for (int t = 0; t < TAPS; t++) {                                    \
          f32x4 xv = wasm_v128_load32_splat(xs[t]);                                                            \
          _Pragma("clang loop unroll(full)") for (int v = 0; v < NV; v++) acc[t][v] = madd4(acc[t][v], xv, d[v]); \
        }                                                                                                      \
      }                                                                                                        \
    }                                                                                                          \
    _Pragma("clang loop unroll(full)") for (int t = 0; t < TAPS; t++)                                          \
      _Pragma("clang loop unroll(full)") for (int v = 0; v < NV; v++)                                          \
        store4(dws[t] + 4 * v, add4(load4(dws[t] + 4 * v), acc[t][v]));                                        \
  }

ROW_KERNEL(2, 4)
ROW_KERNEL(2, 3)
ROW_KERNEL(2, 2)
ROW_KERNEL(2, 1)
ROW_KERNEL(1, 4)
ROW_KERNEL(1, 3)
ROW_KERNEL(1, 2)
ROW_KERNEL(1, 1)

/* One band's contribution for `taps` (1 or 2) taps and `nv` (1 to 4) vectors of co. */
static void row_kernel(int taps, int nv, const float *x0, const float *x1, int x_step, long x_row_step, const float *dy,
                       int co_stride, int rows, int width, float *dw0, float *dw1) {
#define CASE(T, V) \
  case (T) * 8 + (V): row_kernel_##T##_##V(x0, x1, x_step, x_row_step, dy, co_stride, rows, width, dw0, dw1); return;
  switch (taps * 8 + nv) {
    CASE(2, 4) CASE(2, 3) CASE(2, 2) CASE(2, 1) CASE(1, 4) CASE(1, 3) CASE(1, 2) CASE(1, 1)
  }
#undef CASE
}

/* x: [n, h, w, ci] (padded); dy: [n, oh, ow, co_stride]; dw: [kh, kw, ci, co_stride]. */
EXPORT(conv2d_backprop_filter)
void conv2d_backprop_filter(const float *x, const float *dy, float *dw, int n, int h, int w, int ci, int oh, int ow,
                            int co_stride, int kw, int sh, int sw, int dil_h, int dil_w, int tap_begin,
                            int tap_end) {
  int vectors = co_stride / 4;
  for (long i = (long)tap_begin * co_stride; i < (long)tap_end * co_stride; i += 4) store4(dw + i, splat(0.0f));
  long x_row_step = (long)sh * w * ci;
  int band = BAND_BYTES / (4 * ow * co_stride);
  if (band < 1) band = 1;
  for (int b = 0; b < n; b++) {
    for (int r0 = 0; r0 < oh; r0 += band) {
      int rows = oh - r0 < band ? oh - r0 : band;
      const float *dy_band = dy + ((long)b * oh + r0) * ow * co_stride;
      const float *band_x = x + ((long)b * h + (long)r0 * sh) * w * ci;
      for (int t = tap_begin; t < tap_end; t += 2) {
        int count = tap_end - t < 2 ? 1 : 2;
        int t1 = count == 2 ? t + 1 : t;
        const float *x0 = band_x + ((long)(t / (ci * kw)) * dil_h * w + (t / ci) % kw * dil_w) * ci + t % ci;
        const float *x1 = band_x + ((long)(t1 / (ci * kw)) * dil_h * w + (t1 / ci) % kw * dil_w) * ci + t1 % ci;
        for (int v = 0; v < vectors; v += 4) {
          int nv = vectors - v < 4 ? vectors - v : 4;
          row_kernel(count, nv, x0, x1, sw * ci, x_row_step, dy_band + 4 * v, co_stride, rows, ow,
                     dw + (long)t * co_stride + 4 * v, dw + (long)t1 * co_stride + 4 * v);
        }
      }
    }
  }
}
