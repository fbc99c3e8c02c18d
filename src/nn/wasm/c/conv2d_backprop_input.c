/*
 * Layout helpers for the input gradient of a 2-D convolution computed as a convolution (see
 * src/nn/kernels/conv2d-backprop-input.ts): dy spread out by the strides and padded, and the
 * filter flipped and its channel axes swapped.
 */
#include "simd.h"

/*
 * out [n, ph, pw, c] = zeros with dy [n, oh, ow, c] written at rows top + r*sh, columns left + q*sw;
 * positions that fall outside out (negative top/left, or past ph/pw) are dropped.
 */
EXPORT(spread_pad_nhwc)
void spread_pad_nhwc(const float *dy, float *out, int n, int oh, int ow, int c, int sh, int sw, int top, int left, int ph,
                     int pw) {
  long total = (long)n * ph * pw * c;
  long whole = total & ~3L;
  for (long i = 0; i < whole; i += 4) store4(out + i, splat(0.0f));
  for (long i = whole; i < total; i++) out[i] = 0.0f;
  for (int b = 0; b < n; b++)
    for (int r = 0; r < oh; r++) {
      int y = top + r * sh;
      if (y < 0 || y >= ph) continue;
      for (int q = 0; q < ow; q++) {
        int x = left + q * sw;
        if (x < 0 || x >= pw) continue;
        const float *s = dy + (((long)b * oh + r) * ow + q) * c;
        float *d = out + (((long)b * ph + y) * pw + x) * c;
        for (int ch = 0; ch < c; ch++) d[ch] = s[ch];
      }
    }
}

/* out [kh, kw, co, ci] = w [kh - 1 - i, kw - 1 - j, ci, co]: the filter of the transposed convolution. */
EXPORT(flip_filter)
void flip_filter(const float *w, float *out, int kh, int kw, int ci, int co) {
  for (int i = 0; i < kh; i++)
    for (int j = 0; j < kw; j++) {
      const float *s = w + ((long)(kh - 1 - i) * kw + (kw - 1 - j)) * ci * co;
      float *d = out + ((long)i * kw + j) * co * ci;
      for (int a = 0; a < ci; a++)
        for (int b = 0; b < co; b++) d[(long)b * ci + a] = s[(long)a * co + b];
    }
}
