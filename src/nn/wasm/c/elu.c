/*
 * The seed's ELU with a learnable alpha on [rows, channels] tensors, alpha per channel (the last
 * axis) or one for all (alpha_per_channel = 0). Formulas as in src/nn/ops/elu.ts:
 *   z = x > 0 ? x : alpha (exp(min(x, 0)) - 1)
 *   dx = x > 0 ? dz : dz (alpha + z)
 *   dalpha = sum of dz (exp(min(x, 0)) - 1) over every axis alpha is broadcast along.
 */
#include "channel_sums.h"

/*
 * max(x, 0) + alpha (exp(min(x, 0)) - 1) is the same value without a select: for x > 0 the second
 * term is exactly 0 (exp(0) is exactly 1 here), for x <= 0 the first is 0.
 */
INLINE f32x4 elu_value(f32x4 x, f32x4 alpha) {
  return madd4(wasm_f32x4_pmax(x, splat(0.0f)), alpha, expm1_of_negative_part(x));
}

EXPORT(elu_forward)
void elu_forward(const float *x, const float *alpha, float *z, int rows, int channels, int alpha_per_channel) {
  if (!alpha_per_channel) {
    int n = rows * channels;
    f32x4 a = splat(alpha[0]);
    int i = 0;
    for (; i + 4 <= n; i += 4) store4(z + i, elu_value(load4(x + i), a));
    for (; i < n; i++) z[i] = lane0(elu_value(splat(x[i]), a));
    return;
  }
  int whole = channels & ~3;
  for (int r = 0; r < rows; r++) {
    const float *xr = x + (long)r * channels;
    float *zr = z + (long)r * channels;
    for (int c = 0; c < whole; c += 4) store4(zr + c, elu_value(load4(xr + c), load4(alpha + c)));
    for (int c = whole; c < channels; c++) zr[c] = lane0(elu_value(splat(xr[c]), splat(alpha[c])));
  }
}

/* dz (alpha + z) where x <= 0, dz elsewhere. */
INLINE f32x4 elu_dx(f32x4 x, f32x4 z, f32x4 dz, f32x4 alpha) {
  return select_positive(x, dz, mul4(dz, add4(alpha, z)));
}

/* dz (exp(min(x, 0)) - 1): 0 where x > 0. */
INLINE f32x4 elu_dalpha_term(f32x4 x, f32x4 dz) {
  return mul4(dz, expm1_of_negative_part(x));
}

/*
 * dx and dalpha (channels values, or 1 when alpha is shared). scratch: channels rounded up to 4
 * floats plus channels doubles (8-byte aligned).
 */
EXPORT(elu_backward)
void elu_backward(const float *x, const float *z, const float *alpha, const float *dz, float *dx, float *dalpha,
                  int rows, int channels, int alpha_per_channel, float *scratch) {
  if (!alpha_per_channel) {
    int n = rows * channels;
    f32x4 a = splat(alpha[0]);
    f32x4 block = splat(0.0f);
    double total = 0.0;
    int i = 0;
    for (; i + 4 <= n; i += 4) {
      f32x4 xv = load4(x + i), dzv = load4(dz + i);
      store4(dx + i, elu_dx(xv, load4(z + i), dzv, a));
      block = add4(block, elu_dalpha_term(xv, dzv));
      if ((i / 4 + 1) % ROW_BLOCK == 0) {
        total += lane_sum(block);
        block = splat(0.0f);
      }
    }
    total += lane_sum(block);
    for (; i < n; i++) {
      f32x4 xv = splat(x[i]), dzv = splat(dz[i]);
      dx[i] = lane0(elu_dx(xv, splat(z[i]), dzv, a));
      total += lane0(elu_dalpha_term(xv, dzv));
    }
    dalpha[0] = (float)total;
    return;
  }
  float *partial = scratch;
  double *total = (double *)(scratch + round_up4(channels));
  sums_clear(partial, total, channels);
  int whole = channels & ~3;
  for (int r = 0; r < rows; r++) {
    long o = (long)r * channels;
    for (int c = 0; c < whole; c += 4) {
      f32x4 xv = load4(x + o + c), dzv = load4(dz + o + c);
      store4(dx + o + c, elu_dx(xv, load4(z + o + c), dzv, load4(alpha + c)));
      sums_add(partial, c, elu_dalpha_term(xv, dzv));
    }
    for (int c = whole; c < channels; c++) {
      f32x4 xv = splat(x[o + c]), dzv = splat(dz[o + c]);
      dx[o + c] = lane0(elu_dx(xv, splat(z[o + c]), dzv, splat(alpha[c])));
      partial[c] += lane0(elu_dalpha_term(xv, dzv));
    }
    if (block_ends(r, rows)) sums_fold(partial, total, channels);
  }
  for (int c = 0; c < channels; c++) dalpha[c] = (float)total[c];
}
