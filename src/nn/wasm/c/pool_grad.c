/*
 * Gradients of 2-D max and average pooling (NHWC), each in one pass over the output positions with
 * channels in SIMD vectors: no argmax tensor, no per-element index arithmetic of the stock kernels.
 * Windows start at (oh*sh - top, ow*sw - left); taps outside the input are skipped (padding).
 */
#include "simd.h"

INLINE void zero(float *p, long count) {
  long whole = count & ~3L;
  for (long i = 0; i < whole; i += 4) store4(p + i, splat(0.0f));
  for (long i = whole; i < count; i++) p[i] = 0.0f;
}

/* The window's rows [*r0, *r1) and columns [*c0, *c1) that lie inside the input. */
INLINE void window_bounds(int o, int stride, int pad, int k, int size, int *from, int *to) {
  int start = o * stride - pad;
  *from = start < 0 ? 0 : start;
  *to = start + k > size ? size : start + k;
}

/*
 * dx [n, h, w, c] of max pooling: each dy value goes to the first largest input of its window (in
 * row-major window order, compared with >, as TensorFlow does), recomputed from x.
 */
EXPORT(max_pool_grad)
void max_pool_grad(const float *x, const float *dy, float *dx, int n, int h, int w, int c, int oh, int ow, int kh, int kw,
                   int sh, int sw, int top, int left) {
  long image = (long)h * w * c;
  int whole = c & ~3;
  zero(dx, n * image);
  for (int b = 0; b < n; b++) {
    const float *xb = x + b * image;
    float *dxb = dx + b * image;
    for (int r = 0; r < oh; r++) {
      int r0, r1;
      window_bounds(r, sh, top, kh, h, &r0, &r1);
      for (int q = 0; q < ow; q++) {
        int c0, c1;
        window_bounds(q, sw, left, kw, w, &c0, &c1);
        const float *dyp = dy + (((long)b * oh + r) * ow + q) * c;
        for (int ch = 0; ch < whole; ch += 4) {
          f32x4 best = splat(-__builtin_inff());
          v128_t at = wasm_i32x4_splat(-1);
          for (int i = r0; i < r1; i++)
            for (int j = c0; j < c1; j++) {
              int pixel = i * w + j;
              f32x4 v = load4(xb + (long)pixel * c + ch);
              v128_t larger = wasm_f32x4_gt(v, best);
              best = wasm_v128_bitselect(v, best, larger);
              at = wasm_v128_bitselect(wasm_i32x4_splat(pixel), at, larger);
            }
          int lanes[4] = {wasm_i32x4_extract_lane(at, 0), wasm_i32x4_extract_lane(at, 1), wasm_i32x4_extract_lane(at, 2),
                          wasm_i32x4_extract_lane(at, 3)};
          for (int l = 0; l < 4; l++)
            if (lanes[l] >= 0) dxb[(long)lanes[l] * c + ch + l] += dyp[ch + l];
        }
        for (int ch = whole; ch < c; ch++) {
          float best = -__builtin_inff();
          int at = -1;
          for (int i = r0; i < r1; i++)
            for (int j = c0; j < c1; j++) {
              float v = xb[(long)(i * w + j) * c + ch];
              if (v > best) {
                best = v;
                at = i * w + j;
              }
            }
          if (at >= 0) dxb[(long)at * c + ch] += dyp[ch];
        }
      }
    }
  }
}

/*
 * dx [n, h, w, c] of average pooling: each dy value spread evenly over its window's taps inside
 * the input, at 1 / (kh * kw) each (TensorFlow's divisor, padding or not).
 */
EXPORT(avg_pool_grad)
void avg_pool_grad(const float *dy, float *dx, int n, int h, int w, int c, int oh, int ow, int kh, int kw, int sh, int sw,
                   int top, int left) {
  long image = (long)h * w * c;
  int whole = c & ~3;
  f32x4 scale = splat(1.0f / (float)(kh * kw));
  zero(dx, n * image);
  for (int b = 0; b < n; b++) {
    float *dxb = dx + b * image;
    for (int r = 0; r < oh; r++) {
      int r0, r1;
      window_bounds(r, sh, top, kh, h, &r0, &r1);
      for (int q = 0; q < ow; q++) {
        int c0, c1;
        window_bounds(q, sw, left, kw, w, &c0, &c1);
        const float *dyp = dy + (((long)b * oh + r) * ow + q) * c;
        for (int i = r0; i < r1; i++)
          for (int j = c0; j < c1; j++) {
            float *d = dxb + (long)(i * w + j) * c;
            for (int ch = 0; ch < whole; ch += 4) store4(d + ch, madd4(load4(d + ch), load4(dyp + ch), scale));
            for (int ch = whole; ch < c; ch++) d[ch] = lane0(madd4(splat(d[ch]), splat(dyp[ch]), scale));
          }
      }
    }
  }
}
