/* Small layout helpers the kernels' callers need: padding, row copies and per-channel sums. */
#include "channel_sums.h"

/*
 * Copies `rows` rows of `width` floats from src (rows `src_stride` apart) to dst (rows `dst_stride`
 * apart), filling each destination row past `width` with zeros up to dst_stride.
 */
EXPORT(copy_rows)
void copy_rows(const float *src, int src_stride, float *dst, int dst_stride, int rows, int width) {
  for (int r = 0; r < rows; r++) {
    const float *s = src + (long)r * src_stride;
    float *d = dst + (long)r * dst_stride;
    for (int c = 0; c < width; c++) d[c] = s[c];
    for (int c = width; c < dst_stride; c++) d[c] = 0.0f;
  }
}

/* Zero-pads an NHWC image batch: x [n, h, w, c] into out [n, h + top + bottom, w + left + right, c]. */
EXPORT(pad_nhwc)
void pad_nhwc(const float *x, float *out, int n, int h, int w, int c, int top, int bottom, int left, int right) {
  int ow = w + left + right, oh = h + top + bottom;
  long out_size = (long)n * oh * ow * c;
  for (long i = 0; i < out_size; i++) out[i] = 0.0f;
  for (int b = 0; b < n; b++)
    for (int r = 0; r < h; r++) {
      const float *s = x + ((long)b * h + r) * w * c;
      float *d = out + (((long)b * oh + r + top) * ow + left) * c;
      for (long i = 0; i < (long)w * c; i++) d[i] = s[i];
    }
}

/*
 * Per-channel sums of a [rows, channels] tensor (a bias gradient). scratch: channels rounded up to
 * 4 floats plus channels doubles.
 */
EXPORT(channel_sums)
void channel_sums(const float *x, float *out, int rows, int channels, float *scratch) {
  float *partial = scratch;
  double *total = (double *)(scratch + round_up4(channels));
  int whole = channels & ~3;
  sums_clear(partial, total, channels);
  for (int r = 0; r < rows; r++) {
    const float *xr = x + (long)r * channels;
    for (int c = 0; c < whole; c += 4) sums_add(partial, c, load4(xr + c));
    for (int c = whole; c < channels; c++) partial[c] += xr[c];
    if (block_ends(r, rows)) sums_fold(partial, total, channels);
  }
  for (int c = 0; c < channels; c++) out[c] = (float)total[c];
}

/*
 * out [n, c] = the mean over each image's hw pixels of x [n, hw, c] (global average pooling of
 * NHWC): one pass, channels in vectors, each channel summed in float in pixel order and divided
 * by hw, as tfjs-backend-wasm's Mean does after it has transposed the channels innermost.
 */
EXPORT(spatial_mean)
void spatial_mean(const float *x, float *out, int n, int hw, int c) {
  int whole = c & ~3;
  for (int b = 0; b < n; b++) {
    const float *xb = x + (long)b * hw * c;
    float *ob = out + (long)b * c;
    for (int ch = 0; ch < whole; ch += 4) store4(ob + ch, splat(0.0f));
    for (int ch = whole; ch < c; ch++) ob[ch] = 0.0f;
    for (int p = 0; p < hw; p++) {
      const float *xp = xb + (long)p * c;
      for (int ch = 0; ch < whole; ch += 4) store4(ob + ch, add4(load4(ob + ch), load4(xp + ch)));
      for (int ch = whole; ch < c; ch++) ob[ch] += xp[ch];
    }
    for (int ch = 0; ch < c; ch++) ob[ch] = ob[ch] / (float)hw;
  }
}

/*
 * dx [n, hw, c] = dy [n, c] / hw at every pixel: the gradient of spatial_mean, each value divided
 * (not multiplied by a reciprocal; f32x4.div rounds as the scalar division does) as tfjs's own
 * gradient of Mean divides, so the bits agree.
 */
EXPORT(spatial_mean_grad)
void spatial_mean_grad(const float *dy, float *dx, int n, int hw, int c) {
  int whole = c & ~3;
  f32x4 size = splat((float)hw);
  for (int b = 0; b < n; b++) {
    const float *dyb = dy + (long)b * c;
    float *dxb = dx + (long)b * hw * c;
    for (int ch = 0; ch < whole; ch += 4) {
      f32x4 share = wasm_f32x4_div(load4(dyb + ch), size);
      for (int p = 0; p < hw; p++) store4(dxb + (long)p * c + ch, share);
    }
    for (int ch = whole; ch < c; ch++) {
      float share = dyb[ch] / (float)hw;
      for (int p = 0; p < hw; p++) dxb[(long)p * c + ch] = share;
    }
  }
}
