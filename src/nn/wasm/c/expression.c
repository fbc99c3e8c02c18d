/*
 * A custom layer's expressions (src/nn/custom) evaluated in one pass over the tensor: a small
 * register machine over blocks of whole pixels, so that each instruction's dispatch is paid once
 * per block of `block` floats rather than once per element, and every operation runs on SIMD
 * vectors. src/nn/custom/fused.ts compiles a program's expression trees into this code.
 *
 * Operands are slots, each pointing at one block of floats: inputs first (n_in), then constants
 * (n_const), then registers (n_reg). Every block the slots are pointed anew: a full input (x, z,
 * dz: `rows` pixels of `channels`) at its own block in the tensor, so that it is read in place; a
 * per-channel or scalar input, or a constant, at a tile filled once; a register at scratch, or,
 * when it is a full output's root, at that output's block, so that the result is computed in
 * place too. Only the last, partial block goes through scratch: inputs copied in (zero-padded),
 * outputs copied out. Sums into per-channel or scalar outputs (the gradients of learnables) are
 * added lane by lane into a block of floats, folded into per-channel doubles every FOLD_BLOCKS
 * blocks: a block starts at a whole pixel, so lane i always holds channel i % channels.
 *
 * Instructions are 5 ints: op, destination slot, up to three operand slots. frame (ints, in order):
 *   code[5 * n_code], constants (float bits)[n_const], input pointers[n_in], input kinds[n_in],
 *   output slots[n_out], output kinds[n_out], output pointers[n_out].
 * block = block_pixels * channels must be a multiple of 4. scratch, in order: registers (n_reg *
 * block floats), tiles (block floats for each input and constant; a full input's holds the last
 * block), sums (block floats each output), double totals (channels each output, 8-byte aligned),
 * slot pointers (n_in + n_const + n_reg).
 */
#include "simd.h"

enum {
  OP_ADD, OP_SUB, OP_MUL, OP_DIV, OP_NEG, OP_LT, OP_LE, OP_GT, OP_GE, OP_EQ, OP_NE,
  OP_AND, OP_OR, OP_NOT, OP_WHERE, OP_EXP, OP_SQRT, OP_ABS, OP_SIGN, OP_MIN, OP_MAX, OP_RELU, OP_CLIP
};
enum { KIND_FULL, KIND_PER_CHANNEL, KIND_SCALAR };

/* Partial sums are folded into the double totals this often (in blocks): each lane's float sum has at most this many terms. */
#define FOLD_BLOCKS 64

/*
 * exp(x) for any x, in one reduction: 2^n applied as 2^h 2^(n - h), h = n / 2, so that n = 128
 * (x up to 89, where the product overflows to inf as exp does) and n = -126 both stay within the
 * exponent's range. x is clamped to [-87.33, 89] (below, exp is 0 to float precision); a NaN
 * passes through pmin and pmax (they keep x when the comparison fails) and gives NaN.
 */
INLINE f32x4 exp_any(f32x4 x) {
  f32x4 t;
  f32x4 p = exp_reduced(wasm_f32x4_pmax(wasm_f32x4_pmin(x, splat(89.0f)), splat(-87.33654f)), &t);
  v128_t n = wasm_i32x4_sub(t, wasm_i32x4_splat(0x4B400000));
  v128_t h = wasm_i32x4_shr(n, 1);
  return mul4(mul4(p, two_to_n(h)), two_to_n(wasm_i32x4_sub(n, h)));
}

INLINE f32x4 truth(v128_t mask) { return wasm_v128_and(mask, splat(1.0f)); }
INLINE v128_t nonzero(f32x4 v) { return wasm_f32x4_ne(v, splat(0.0f)); }

#define BINARY(EXPR)                                                       \
  for (int i = 0; i < block; i += 4) {                                     \
    f32x4 a = load4(ra + i), b = load4(rb + i);                            \
    store4(d + i, (EXPR));                                                 \
  }                                                                        \
  break;
#define UNARY(EXPR)                                                        \
  for (int i = 0; i < block; i += 4) {                                     \
    f32x4 a = load4(ra + i);                                               \
    store4(d + i, (EXPR));                                                 \
  }                                                                        \
  break;

static void run_block(const int *code, int n_code, float *const *slots, int block) {
  for (int k = 0; k < n_code; k++) {
    const int *ins = code + 5 * k;
    float *d = slots[ins[1]];
    const float *ra = slots[ins[2]], *rb = slots[ins[3]], *rc = slots[ins[4]];
    switch (ins[0]) {
      case OP_ADD: BINARY(add4(a, b))
      case OP_SUB: BINARY(sub4(a, b))
      case OP_MUL: BINARY(mul4(a, b))
      case OP_DIV: BINARY(wasm_f32x4_div(a, b))
      case OP_LT: BINARY(truth(wasm_f32x4_lt(a, b)))
      case OP_LE: BINARY(truth(wasm_f32x4_le(a, b)))
      case OP_GT: BINARY(truth(wasm_f32x4_gt(a, b)))
      case OP_GE: BINARY(truth(wasm_f32x4_ge(a, b)))
      case OP_EQ: BINARY(truth(wasm_f32x4_eq(a, b)))
      case OP_NE: BINARY(truth(wasm_f32x4_ne(a, b)))
      case OP_AND: BINARY(truth(wasm_v128_and(nonzero(a), nonzero(b))))
      case OP_OR: BINARY(truth(wasm_v128_or(nonzero(a), nonzero(b))))
      /* min and max propagate NaN, as tf.minimum and tf.maximum do. */
      case OP_MIN: BINARY(wasm_f32x4_min(a, b))
      case OP_MAX: BINARY(wasm_f32x4_max(a, b))
      case OP_NEG: UNARY(wasm_f32x4_neg(a))
      case OP_NOT: UNARY(truth(wasm_f32x4_eq(a, splat(0.0f))))
      case OP_EXP: UNARY(exp_any(a))
      case OP_SQRT: UNARY(wasm_f32x4_sqrt(a))
      case OP_ABS: UNARY(wasm_f32x4_abs(a))
      case OP_SIGN: UNARY(sub4(truth(wasm_f32x4_gt(a, splat(0.0f))), truth(wasm_f32x4_lt(a, splat(0.0f)))))
      case OP_RELU: UNARY(wasm_f32x4_max(a, splat(0.0f)))
      case OP_WHERE:
        for (int i = 0; i < block; i += 4) store4(d + i, wasm_v128_bitselect(load4(rb + i), load4(rc + i), nonzero(load4(ra + i))));
        break;
      case OP_CLIP:
        for (int i = 0; i < block; i += 4) store4(d + i, wasm_f32x4_min(wasm_f32x4_max(load4(ra + i), load4(rb + i)), load4(rc + i)));
        break;
    }
  }
}

/* Adds the block's sums, lane i to channel i % channels, into the totals and clears them. */
static void fold(float *sums, double *totals, int block, int channels) {
  for (int p = 0; p < block; p += channels)
    for (int ch = 0; ch < channels; ch++) {
      totals[ch] += sums[p + ch];
      sums[p + ch] = 0.0f;
    }
}

EXPORT(expression_run)
void expression_run(const int *frame, int n_code, int n_const, int n_in, int n_out, int n_reg, long rows, int channels,
                    int block_pixels, float *scratch) {
  const int *code = frame;
  const float *constants = (const float *)(frame + 5 * n_code);
  float *const *inputs = (float *const *)(frame + 5 * n_code + n_const);
  const int *in_kinds = frame + 5 * n_code + n_const + n_in;
  const int *out_slots = in_kinds + n_in;
  const int *out_kinds = out_slots + n_out;
  float *const *outputs = (float *const *)(out_kinds + n_out);
  int block = block_pixels * channels;
  int n_tiles = n_in + n_const;
  float *regs = scratch;
  float *tiles = regs + (long)n_reg * block;
  float *sums = tiles + (long)n_tiles * block;
  double *totals = (double *)(sums + (long)n_out * block);
  float **slots = (float **)(totals + (long)n_out * channels);

  for (int j = 0; j < n_tiles; j++) {
    float *t = tiles + (long)j * block;
    slots[j] = t;
    if (j >= n_in) {
      for (int i = 0; i < block; i++) t[i] = constants[j - n_in];
    } else if (in_kinds[j] != KIND_FULL) {
      for (int i = 0; i < block; i++) t[i] = inputs[j][in_kinds[j] == KIND_PER_CHANNEL ? i % channels : 0];
    }
  }
  for (int r = 0; r < n_reg; r++) slots[n_tiles + r] = regs + (long)r * block;
  for (int i = 0; i < n_out * block; i++) sums[i] = 0.0f;
  for (int i = 0; i < n_out * channels; i++) totals[i] = 0.0;

  long total = rows * channels;
  int unfolded = 0;
  for (long start = 0; start < total; start += block) {
    int length = total - start < block ? (int)(total - start) : block;
    int whole = length == block;
    for (int j = 0; j < n_in; j++) {
      if (in_kinds[j] != KIND_FULL) continue;
      if (whole) {
        slots[j] = inputs[j] + start;
      } else {
        float *t = tiles + (long)j * block;
        for (int i = 0; i < length; i++) t[i] = inputs[j][start + i];
        for (int i = length; i < block; i++) t[i] = 0.0f;
        slots[j] = t;
      }
    }
    for (int o = 0; o < n_out; o++) {
      int s = out_slots[o];
      if (out_kinds[o] == KIND_FULL && s >= n_tiles) slots[s] = whole ? outputs[o] + start : regs + (long)(s - n_tiles) * block;
    }
    run_block(code, n_code, slots, block);
    for (int o = 0; o < n_out; o++) {
      const float *r = slots[out_slots[o]];
      if (out_kinds[o] == KIND_FULL) {
        /* A root that is an input or a constant, or the last block: copied out. */
        float *dst = outputs[o] + start;
        if (r != dst)
          for (int i = 0; i < length; i++) dst[i] = r[i];
      } else {
        float *acc = sums + (long)o * block;
        if (whole) {
          for (int i = 0; i < block; i += 4) store4(acc + i, add4(load4(acc + i), load4(r + i)));
        } else {
          for (int i = 0; i < length; i++) acc[i] += r[i];
        }
      }
    }
    if (++unfolded == FOLD_BLOCKS || start + block >= total) {
      for (int o = 0; o < n_out; o++)
        if (out_kinds[o] != KIND_FULL) fold(sums + (long)o * block, totals + (long)o * channels, block, channels);
      unfolded = 0;
    }
  }
  for (int o = 0; o < n_out; o++) {
    if (out_kinds[o] == KIND_FULL) continue;
    double *t = totals + (long)o * channels;
    if (out_kinds[o] == KIND_PER_CHANNEL) {
      for (int ch = 0; ch < channels; ch++) outputs[o][ch] = (float)t[ch];
    } else {
      double s = 0.0;
      for (int ch = 0; ch < channels; ch++) s += t[ch];
      outputs[o][0] = (float)s;
    }
  }
}
