/*
 * The input gradient of a 2-D convolution (NHWC, filter [kh, kw, ci, co]) with only the real
 * multiplications: every output position's dy row (co values) times the filter's rows, added into
 * dx at the input pixels that position's taps read,
 *   dx[n, oy*sh - top + i*dil_h, ox*sw - left + j*dil_w, c] += sum over co of dy[n, oy, ox, co] * w[i, j, c, co],
 * taps that fall in the padding dropped. This is dy · Wᵀ and col2im in one pass: a tap's block of
 * products is added straight into dx, so the column matrix (tens of MB) is never stored. Taps that
 * read the padding are skipped whole (a row or a column range at a time), so on the small maps of
 * 'valid' convolutions none of the work of the zero border of a transposed convolution is done.
 *
 * The filter is first laid out per tap as panels [kh*kw, co, ci_stride] (filter_tap_panels), ci
 * padded with zeros to whole vectors, so a block of 8 values of c is two aligned loads a row of co.
 * The microkernel sums MR output positions (consecutive columns of one output row) by 8 (or 4)
 * values of c over all of co in registers, then adds them to dx (those positions' pixels are sw*ci
 * floats apart). Output rows go in bands whose dy stays in L1 (BAND_BYTES), as every tap and block
 * of c reads the band again.
 * One call computes the images [image_begin, image_end) of dx (zeroed first) and writes nothing
 * else, so the threads of a kernel pool each take a range of images.
 */
#include "simd.h"

#define BAND_BYTES 24576
/*
 * Positions a microkernel call: 4 by 2 vectors is 8 accumulators, 2 filter vectors, a dy splat and
 * a product, within the 15 SIMD registers V8 allocates on x64 (it keeps one for scratch). 5 and 6
 * (up to 16 live values) spilled: 16x16x32 'same' by 64 filters took 41 ms at 4, 49 at 5, 58 at 6.
 */
#define MR_MAX 4

/* Adds acc to the `lanes` (1 to 4) first floats at p. */
INLINE void add_lanes(float *p, f32x4 acc, int lanes) {
  if (lanes == 4) {
    store4(p, add4(load4(p), acc));
    return;
  }
  p[0] += wasm_f32x4_extract_lane(acc, 0);
  if (lanes > 1) p[1] += wasm_f32x4_extract_lane(acc, 1);
  if (lanes > 2) p[2] += wasm_f32x4_extract_lane(acc, 2);
}

/*
 * MR positions (dy rows co floats apart, dx pixels dx_step apart) by NV vectors of c (the panel's
 * columns from its start, rows ci_stride floats apart); the last vector's first `lanes` floats are
 * real channels. Fully unrolled, so the sums stay in registers.
 */
#define MICRO_KERNEL(MR, NV)                                                                                  \
  static void micro_kernel_##MR##_##NV(const float *dy, int co, const float *panel, int ci_stride, float *dx,  \
                                       long dx_step, int lanes) {                                             \
    f32x4 acc[MR][NV];                                                                                        \
    _Pragma("clang loop unroll(full)") for (int r = 0; r < MR; r++)                                           \
      _Pragma("clang loop unroll(full)") for (int v = 0; v < NV; v++) acc[r][v] = splat(0.0f);                \
    for (int k = 0; k < co; k++) {                                                                            \
      f32x4 b[NV];                                                                                            \
      _Pragma("clang loop unroll(full)") for (int v = 0; v < NV; v++) b[v] = load4(panel + (long)k * ci_stride + 4 * v); \
      _Pragma("clang loop unroll(full)") for (int r = 0; r < MR; r++) {                                       \
        f32x4 a = wasm_v128_load32_splat(dy + (long)r * co + k);                                              \
        _Pragma("clang loop unroll(full)") for (int v = 0; v < NV; v++) acc[r][v] = madd4(acc[r][v], a, b[v]); \
      }                                                                                                       \
    }                                                                                                         \
    _Pragma("clang loop unroll(full)") for (int r = 0; r < MR; r++) {                                         \
      float *p = dx + r * dx_step;                                                                            \
      _Pragma("clang loop unroll(full)") for (int v = 0; v < NV - 1; v++) store4(p + 4 * v, add4(load4(p + 4 * v), acc[r][v])); \
      add_lanes(p + 4 * (NV - 1), acc[r][NV - 1], lanes);                                                     \
    }                                                                                                         \
  }

#define MICRO_KERNELS(MR) MICRO_KERNEL(MR, 2) MICRO_KERNEL(MR, 1)
MICRO_KERNELS(6)
MICRO_KERNELS(5)
MICRO_KERNELS(4)
MICRO_KERNELS(3)
MICRO_KERNELS(2)
MICRO_KERNELS(1)

static void micro_kernel(int mr, int nv, const float *dy, int co, const float *panel, int ci_stride, float *dx, long dx_step,
                         int lanes) {
#define CASE(MR)                                                                        \
  case MR:                                                                              \
    if (nv == 2) micro_kernel_##MR##_2(dy, co, panel, ci_stride, dx, dx_step, lanes);  \
    else micro_kernel_##MR##_1(dy, co, panel, ci_stride, dx, dx_step, lanes);          \
    return;
  switch (mr) { CASE(6) CASE(5) CASE(4) CASE(3) CASE(2) CASE(1) }
#undef CASE
}

/* ceil(a / b) for b > 0 and any a. */
INLINE int ceil_div(int a, int b) { return a <= 0 ? -(-a / b) : (a + b - 1) / b; }
/* floor(a / b) for b > 0 and any a. */
INLINE int floor_div(int a, int b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

/* w [kh, kw, ci, co] -> panels [taps, co, ci_stride], c >= ci zero. */
EXPORT(filter_tap_panels)
void filter_tap_panels(const float *w, float *panels, int taps, int ci, int co, int ci_stride) {
  for (int t = 0; t < taps; t++)
    for (int k = 0; k < co; k++) {
      float *d = panels + ((long)t * co + k) * ci_stride;
      const float *s = w + (long)t * ci * co + k;
      for (int c = 0; c < ci_stride; c++) d[c] = c < ci ? s[(long)c * co] : 0.0f;
    }
}

/* dy [n, oh, ow, co]; panels from filter_tap_panels; dx [n, h, w, ci]. */
EXPORT(conv_input_gradient)
void conv_input_gradient(const float *dy, const float *panels, float *dx, int h, int w, int ci, int oh, int ow, int co,
                         int ci_stride, int kh, int kw, int sh, int sw, int dil_h, int dil_w, int top, int left,
                         int image_begin, int image_end) {
  long image = (long)h * w * ci;
  long end = image_end * image, whole = image_begin * image + ((end - image_begin * image) & ~3L);
  for (long i = image_begin * image; i < whole; i += 4) store4(dx + i, splat(0.0f));
  for (long i = whole; i < end; i++) dx[i] = 0.0f;
  /* Rows of dy a band, so that its dy and the rows of dx it adds to stay within BAND_BYTES. */
  int band = 1;
  while (band < oh && 4L * ((band + 1) * ow * co + ((long)(band + 1) * sh + (kh - 1) * dil_h) * w * ci) <= BAND_BYTES) band++;
  long dx_step = (long)sw * ci;
  for (int b = image_begin; b < image_end; b++) {
    const float *dy_image = dy + (long)b * oh * ow * co;
    float *dx_image = dx + b * image;
    for (int r0 = 0; r0 < oh; r0 += band) {
      int r1 = oh - r0 < band ? oh : r0 + band;
      for (int i = 0; i < kh; i++) {
        /* The band's rows whose tap row i reads inside the input: 0 <= oy*sh - top + i*dil_h < h. */
        int y_lo = ceil_div(top - i * dil_h, sh), y_hi = floor_div(h - 1 + top - i * dil_h, sh);
        if (y_lo < r0) y_lo = r0;
        if (y_hi > r1 - 1) y_hi = r1 - 1;
        for (int j = 0; j < kw; j++) {
          int x_lo = ceil_div(left - j * dil_w, sw), x_hi = floor_div(w - 1 + left - j * dil_w, sw);
          if (x_lo < 0) x_lo = 0;
          if (x_hi > ow - 1) x_hi = ow - 1;
          if (x_lo > x_hi) continue;
          const float *tap_panel = panels + (long)(i * kw + j) * co * ci_stride;
          for (int c0 = 0; c0 < ci; c0 += 8) {
            int nv = ci - c0 > 4 ? 2 : 1;
            int lanes = ci - c0 - 4 * (nv - 1);
            if (lanes > 4) lanes = 4;
            for (int oy = y_lo; oy <= y_hi; oy++) {
              const float *dy_row = dy_image + (long)oy * ow * co;
              float *dx_row = dx_image + ((long)(oy * sh - top + i * dil_h) * w - left + j * dil_w) * ci + c0;
              for (int ox = x_lo, mr, left_over = x_hi + 1 - x_lo; left_over > 0; ox += mr, left_over -= mr) {
                mr = ceil_div(left_over, ceil_div(left_over, MR_MAX));
                micro_kernel(mr, nv, dy_row + (long)ox * co, co, tap_panel + c0, ci_stride, dx_row + ox * dx_step, dx_step,
                             lanes);
              }
            }
          }
        }
      }
    }
  }
}
