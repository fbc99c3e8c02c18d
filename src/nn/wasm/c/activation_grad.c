/*
 * Input gradients of clippedRelu, leakyRelu, relu and tanh in one SIMD pass each; tfjs builds each
 * from two to four ops (comparisons with a broadcast scalar, logicalAnd, where, multiplications),
 * every one a pass over the tensor of its own.
 */
#include "simd.h"

enum { GRAD_CLIP, GRAD_LEAKY, GRAD_RELU, GRAD_TANH };

INLINE f32x4 grad(int kind, f32x4 x, f32x4 d, f32x4 a, f32x4 b) {
  switch (kind) {
    case GRAD_CLIP: /* lo <= x <= hi ? dy : 0 */
      return wasm_v128_and(d, wasm_v128_and(wasm_f32x4_ge(x, a), wasm_f32x4_le(x, b)));
    case GRAD_LEAKY: /* x > 0 ? dy : alpha dy */
      return wasm_v128_bitselect(d, mul4(d, a), wasm_f32x4_gt(x, splat(0.0f)));
    case GRAD_RELU: /* x > 0 ? dy : 0 */
      return wasm_v128_and(d, wasm_f32x4_gt(x, splat(0.0f)));
    default: /* (1 - y^2) dy, x being tanh's output y */
      return mul4(sub4(splat(1.0f), mul4(x, x)), d);
  }
}

/* dx [n] from x (tanh: its output) and dy; a, b: clip's bounds, or leakyRelu's alpha in a. */
EXPORT(activation_grad)
void activation_grad(int kind, const float *x, const float *dy, float *dx, int n, float a, float b) {
  f32x4 va = splat(a), vb = splat(b);
  int whole = n & ~3;
  for (int i = 0; i < whole; i += 4) store4(dx + i, grad(kind, load4(x + i), load4(dy + i), va, vb));
  for (int i = whole; i < n; i++) dx[i] = lane0(grad(kind, splat(x[i]), splat(dy[i]), va, vb));
}
