/*
 * A custom layer's expressions (src/nn/custom) evaluated in one pass over the tensor: a small
 * register machine over blocks of whole pixels, so that each instruction's dispatch is paid once
 * per block of `block` floats rather than once per element, and every operation runs on SIMD
 * vectors. src/nn/kernels/expression.ts compiles a program's expression trees into this code.
 *
 * Registers hold one block (`block` floats, a multiple of 4). Inputs are full tensors (x, z, dz:
 * `rows` pixels of `channels`), per-channel values (`channels` floats, tiled once over a block) or
 * scalars (splatted). Outputs are full tensors (copied out per block) or sums into per-channel or
 * scalar results (the gradients of learnables), summed per channel in float over a block and
 * folded into doubles every block.
 *
 * Instructions are 5 ints: op, destination, up to three operand registers. frame (ints, in order):
 *   code[5 * n_code], constants (float bits)[n_const], input pointers[n_in], input kinds[n_in],
 *   output registers[n_out], output kinds[n_out], output pointers[n_out].
 * scratch: registers (n_reg * block floats), input tiles (block floats each), output block sums
 * (block floats each) and double totals (channels each, 8-byte aligned).
 */
#include "simd.h"

enum {
  OP_INPUT, OP_CONST, OP_ADD, OP_SUB, OP_MUL, OP_DIV, OP_NEG, OP_LT, OP_LE, OP_GT, OP_GE, OP_EQ, OP_NE,
  OP_AND, OP_OR, OP_NOT, OP_WHERE, OP_EXP, OP_SQRT, OP_ABS, OP_SIGN, OP_MIN, OP_MAX, OP_RELU, OP_CLIP
};
enum { KIND_FULL, KIND_PER_CHANNEL, KIND_SCALAR };

/* exp(x) for any x: exp(x/2)^2, so that exp_nonpositive's reduction also covers x up to 88.7 (the
 * square overflows to inf where exp does). */
INLINE f32x4 exp_any(f32x4 x) {
  f32x4 half = mul4(x, splat(0.5f));
  f32x4 neg = exp_nonpositive(wasm_f32x4_pmin(half, splat(0.0f)));
  /* exp(h) for h > 0 as 1 / exp(-h): exp_nonpositive covers -h. */
  f32x4 pos = wasm_f32x4_div(splat(1.0f), exp_nonpositive(wasm_f32x4_neg(wasm_f32x4_pmax(half, splat(0.0f)))));
  f32x4 e = mul4(neg, pos);
  return mul4(e, e);
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

static void run_block(const int *code, int n_code, const float *constants, const float *const *inputs, const int *in_kinds,
                      float *regs, int block, long start, int length, float *tiles) {
  for (int k = 0; k < n_code; k++) {
    const int *ins = code + 5 * k;
    float *d = regs + (long)ins[1] * block;
    const float *ra = regs + (long)ins[2] * block;
    const float *rb = regs + (long)ins[3] * block;
    const float *rc = regs + (long)ins[4] * block;
    switch (ins[0]) {
      case OP_INPUT: {
        int which = ins[2];
        if (in_kinds[which] == KIND_FULL) {
          const float *s = inputs[which] + start;
          for (int i = 0; i < length; i++) d[i] = s[i];
          for (int i = length; i < block; i++) d[i] = 0.0f;
        } else {
          const float *t = tiles + (long)which * block;
          for (int i = 0; i < block; i += 4) store4(d + i, load4(t + i));
        }
        break;
      }
      case OP_CONST: {
        f32x4 v = splat(constants[ins[2]]);
        for (int i = 0; i < block; i += 4) store4(d + i, v);
        break;
      }
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

EXPORT(expression_run)
void expression_run(const int *frame, int n_code, int n_const, int n_in, int n_out, int n_reg, long rows, int channels,
                    int block_pixels, float *scratch) {
  const int *code = frame;
  const float *constants = (const float *)(frame + 5 * n_code);
  const float *const *inputs = (const float *const *)(frame + 5 * n_code + n_const);
  const int *in_kinds = frame + 5 * n_code + n_const + n_in;
  const int *out_regs = in_kinds + n_in;
  const int *out_kinds = out_regs + n_out;
  float *const *outputs = (float *const *)(out_kinds + n_out);
  int block = (block_pixels * channels + 3) & ~3;
  float *regs = scratch;
  float *tiles = regs + (long)n_reg * block;
  float *accs = tiles + (long)n_in * block;
  double *totals = (double *)(accs + (long)n_out * block);

  /* Per-channel and scalar inputs tiled over a block once. */
  for (int j = 0; j < n_in; j++) {
    float *t = tiles + (long)j * block;
    for (int i = 0; i < block; i++) t[i] = in_kinds[j] == KIND_PER_CHANNEL ? inputs[j][i % channels] : in_kinds[j] == KIND_SCALAR ? inputs[j][0] : 0.0f;
  }
  for (int o = 0; o < n_out; o++)
    for (int ch = 0; ch < channels; ch++) totals[(long)o * channels + ch] = 0.0;
  long total = rows * channels;
  for (long start = 0; start < total; start += (long)block_pixels * channels) {
    int length = total - start < (long)block_pixels * channels ? (int)(total - start) : block_pixels * channels;
    run_block(code, n_code, constants, inputs, in_kinds, regs, block, start, length, tiles);
    for (int o = 0; o < n_out; o++) {
      const float *r = regs + (long)out_regs[o] * block;
      if (out_kinds[o] == KIND_FULL) {
        float *dst = outputs[o] + start;
        for (int i = 0; i < length; i++) dst[i] = r[i];
      } else {
        /* Each block's values summed per channel in float, then into the double totals. */
        float *acc = accs + (long)o * block;
        double *t = totals + (long)o * channels;
        for (int ch = 0; ch < channels; ch++) acc[ch] = 0.0f;
        for (int p = 0; p < length; p += channels)
          for (int ch = 0; ch < channels; ch++) acc[ch] += r[p + ch];
        for (int ch = 0; ch < channels; ch++) t[ch] += acc[ch];
      }
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
