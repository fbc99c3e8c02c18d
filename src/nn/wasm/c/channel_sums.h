/*
 * Per-channel sums over many rows of a [rows, channels] tensor, in two levels: each block of
 * ROW_BLOCK rows is summed in float (in `partial`, padded to whole vectors) and folded into double
 * totals, so that sums over 10^5 rows carry the float rounding error of one block only.
 * `partial` holds channels rounded up to a multiple of 4 floats, `total` channels doubles.
 */
#ifndef TRAINYARD_CHANNEL_SUMS_H
#define TRAINYARD_CHANNEL_SUMS_H

#include "simd.h"

#define ROW_BLOCK 64

INLINE int round_up4(int n) { return (n + 3) & ~3; }

INLINE void sums_clear(float *partial, double *total, int channels) {
  for (int c = 0; c < round_up4(channels); c += 4) store4(partial + c, splat(0.0f));
  for (int c = 0; c < channels; c++) total[c] = 0.0;
}

/* Folds the block's partial sums into the totals (call every ROW_BLOCK rows and at the end). */
INLINE void sums_fold(float *partial, double *total, int channels) {
  for (int c = 0; c < channels; c++) {
    total[c] += partial[c];
    partial[c] = 0.0f;
  }
}

INLINE int block_ends(int row, int rows) { return (row + 1) % ROW_BLOCK == 0 || row + 1 == rows; }

/* partial[c..c+4) += v */
INLINE void sums_add(float *partial, int c, f32x4 v) { store4(partial + c, add4(load4(partial + c), v)); }

#endif
