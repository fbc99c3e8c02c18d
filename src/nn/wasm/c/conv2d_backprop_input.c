/*
 * Layout helpers for the input gradient of a 2-D convolution computed as a convolution (see
 * src/nn/kernels/conv2d-backprop-input.ts): dy spread out by the strides and padded, and the
 * filter flipped and its channel axes swapped; and the phases of a strided one put together.
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

/*
 * out [mh, mw, co, ci] = w [r0 + sh*(mh - 1 - i), c0 + sw*(mw - 1 - j), ci, co] of w [kh, kw, ci, co]:
 * the filter of the transposed convolution (r0 = c0 = 0, sh = sw = 1, all taps), or of one phase of
 * a strided one (every sh-th row from r0, every sw-th column from c0).
 */
EXPORT(flip_filter)
void flip_filter(const float *w, float *out, int kw, int ci, int co, int r0, int c0, int sh, int sw, int mh, int mw) {
  for (int i = 0; i < mh; i++)
    for (int j = 0; j < mw; j++) {
      const float *s = w + ((long)(r0 + sh * (mh - 1 - i)) * kw + (c0 + sw * (mw - 1 - j))) * ci * co;
      float *d = out + ((long)i * mw + j) * co * ci;
      for (int a = 0; a < ci; a++)
        for (int b = 0; b < co; b++) d[(long)b * ci + a] = s[(long)a * co + b];
    }
}

/*
 * dx [n, h, w, c] at rows a + p*sh and columns b + q*sw, for p < ph and q < pw, = part [n, ph, pw, c]:
 * one phase of a strided convolution's input gradient (the phases together write every position).
 */
EXPORT(scatter_phase)
void scatter_phase(const float *part, float *dx, int n, int ph, int pw, int c, int h, int w, int a, int b, int sh, int sw) {
  int whole = c & ~3;
  for (int i = 0; i < n; i++)
    for (int p = 0; p < ph; p++)
      for (int q = 0; q < pw; q++) {
        const float *s = part + (((long)i * ph + p) * pw + q) * c;
        float *d = dx + (((long)i * h + a + (long)p * sh) * w + b + (long)q * sw) * c;
        for (int ch = 0; ch < whole; ch += 4) store4(d + ch, load4(s + ch));
        for (int ch = whole; ch < c; ch++) d[ch] = s[ch];
      }
}
