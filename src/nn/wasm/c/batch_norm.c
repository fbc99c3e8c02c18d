/*
 * Batch normalisation in training mode over a [rows, channels] tensor (every axis but the last is
 * reduced), as tfjs-layers computes it: mean and biased variance of the batch (tf.moments), then
 *   y = (x - mean) / sqrt(variance + epsilon) * gamma + beta,
 * and the gradient of that through the batch statistics:
 *   dbeta = sum dy,  dgamma = sum dy xhat,  xhat = (x - mean) / sqrt(variance + epsilon),
 *   dx = gamma / sqrt(variance + epsilon) (dy - dbeta / M - xhat dgamma / M),  M = rows.
 * Sums are taken per channel in two levels (channel_sums.h). scratch: for each kernel, two sets of
 * (channels rounded up to 4 floats, channels doubles), the doubles 8-byte aligned.
 */
#include "channel_sums.h"

typedef struct {
  float *partial;
  double *total;
} sums_t;

INLINE sums_t sums_at(float *scratch, int channels, int which) {
  int floats = round_up4(channels) + 2 * channels; /* partial floats, then the doubles */
  float *base = scratch + which * floats;
  sums_t s = {base, (double *)(base + round_up4(channels))};
  return s;
}

/* Per-channel sum of x - shift over all rows, and of (x - shift)^2 when `with_squares`. */
INLINE void centred_sums(const float *x, const float *shift, int rows, int channels, sums_t sums, sums_t squares, int with_squares) {
  int whole = channels & ~3;
  sums_clear(sums.partial, sums.total, channels);
  if (with_squares) sums_clear(squares.partial, squares.total, channels);
  for (int r = 0; r < rows; r++) {
    const float *xr = x + (long)r * channels;
    for (int c = 0; c < whole; c += 4) {
      f32x4 d = sub4(load4(xr + c), load4(shift + c));
      sums_add(sums.partial, c, d);
      if (with_squares) sums_add(squares.partial, c, mul4(d, d));
    }
    for (int c = whole; c < channels; c++) {
      float d = xr[c] - shift[c];
      sums.partial[c] += d;
      if (with_squares) squares.partial[c] += d * d;
    }
    if (block_ends(r, rows)) {
      sums_fold(sums.partial, sums.total, channels);
      if (with_squares) sums_fold(squares.partial, squares.total, channels);
    }
  }
}

/*
 * y, and the batch mean and variance (for the moving averages and the backward pass).
 * Two passes for the statistics (sum, then squared deviations from the mean), one for y.
 */
EXPORT(batch_norm_forward)
void batch_norm_forward(const float *x, const float *gamma, const float *beta, float *y, float *mean, float *variance,
                        int rows, int channels, float epsilon, float *scratch, float *scale_scratch) {
  sums_t s0 = sums_at(scratch, channels, 0), s1 = sums_at(scratch, channels, 1);
  for (int c = 0; c < round_up4(channels); c++) scale_scratch[c] = 0.0f; /* zero shift for the first pass */
  centred_sums(x, scale_scratch, rows, channels, s0, s1, 0);
  for (int c = 0; c < channels; c++) mean[c] = (float)(s0.total[c] / rows);
  centred_sums(x, mean, rows, channels, s0, s1, 1);
  /* Variance from deviations about the float mean, corrected for the rounding of that mean. */
  for (int c = 0; c < channels; c++) {
    double d = s0.total[c] / rows;
    variance[c] = (float)(s1.total[c] / rows - d * d);
  }
  /* scale_scratch: gamma / sqrt(variance + epsilon), padded with zeros to whole vectors */
  for (int c = 0; c < channels; c++) scale_scratch[c] = gamma[c] / __builtin_sqrtf(variance[c] + epsilon);
  int whole = channels & ~3;
  for (int r = 0; r < rows; r++) {
    const float *xr = x + (long)r * channels;
    float *yr = y + (long)r * channels;
    for (int c = 0; c < whole; c += 4) {
      store4(yr + c, madd4(load4(beta + c), sub4(load4(xr + c), load4(mean + c)), load4(scale_scratch + c)));
    }
    for (int c = whole; c < channels; c++) yr[c] = beta[c] + (xr[c] - mean[c]) * scale_scratch[c];
  }
}

/*
 * dx, dgamma and dbeta from dy, x and the forward's mean and variance. Two passes: per-channel sums
 * of dy and dy (x - mean), then dx.
 */
EXPORT(batch_norm_backward)
void batch_norm_backward(const float *x, const float *dy, const float *gamma, const float *mean, const float *variance,
                         float *dx, float *dgamma, float *dbeta, int rows, int channels, float epsilon, float *scratch,
                         float *coef_scratch) {
  sums_t sdy = sums_at(scratch, channels, 0), sdyx = sums_at(scratch, channels, 1);
  int whole = channels & ~3;
  sums_clear(sdy.partial, sdy.total, channels);
  sums_clear(sdyx.partial, sdyx.total, channels);
  for (int r = 0; r < rows; r++) {
    long o = (long)r * channels;
    for (int c = 0; c < whole; c += 4) {
      f32x4 d = load4(dy + o + c);
      sums_add(sdy.partial, c, d);
      sums_add(sdyx.partial, c, mul4(d, sub4(load4(x + o + c), load4(mean + c))));
    }
    for (int c = whole; c < channels; c++) {
      sdy.partial[c] += dy[o + c];
      sdyx.partial[c] += dy[o + c] * (x[o + c] - mean[c]);
    }
    if (block_ends(r, rows)) {
      sums_fold(sdy.partial, sdy.total, channels);
      sums_fold(sdyx.partial, sdyx.total, channels);
    }
  }
  /* dx = a dy + b (x - mean) + d per channel, with
   *   a = gamma invstd,  b = -gamma invstd^3 sum(dy (x - mean)) / M,  d = -gamma invstd sum(dy) / M */
  int c4 = round_up4(channels);
  float *a = coef_scratch, *b = coef_scratch + c4, *d = coef_scratch + 2 * c4;
  for (int c = 0; c < c4; c++) a[c] = b[c] = d[c] = 0.0f;
  for (int c = 0; c < channels; c++) {
    double invstd = 1.0 / __builtin_sqrt((double)variance[c] + epsilon);
    dbeta[c] = (float)sdy.total[c];
    dgamma[c] = (float)(sdyx.total[c] * invstd);
    a[c] = (float)(gamma[c] * invstd);
    b[c] = (float)(-gamma[c] * invstd * invstd * invstd * sdyx.total[c] / rows);
    d[c] = (float)(-gamma[c] * invstd * sdy.total[c] / rows);
  }
  for (int r = 0; r < rows; r++) {
    long o = (long)r * channels;
    for (int c = 0; c < whole; c += 4) {
      f32x4 v = madd4(madd4(load4(d + c), load4(a + c), load4(dy + o + c)), load4(b + c), sub4(load4(x + o + c), load4(mean + c)));
      store4(dx + o + c, v);
    }
    for (int c = whole; c < channels; c++) dx[o + c] = d[c] + a[c] * dy[o + c] + b[c] * (x[o + c] - mean[c]);
  }
}
