/*
 * One sgdm step of a learnable, MATLAB's rule with the L2 term added to the gradient, in the
 * same float operations and order as the tfjs ops in src/nn/optimizers.ts (so the same bits):
 *   g' = g + l2 w,  v' = momentum v - lr g',  w' = w + v'
 */
#include "simd.h"

EXPORT(sgdm_update)
void sgdm_update(const float *w, const float *v, const float *g, float *w_out, float *v_out, int n, float lr, float momentum,
                 float l2) {
  f32x4 lr4 = splat(lr), m4 = splat(momentum), l24 = splat(l2);
  int i = 0;
  for (; i + 4 <= n; i += 4) {
    f32x4 wv = load4(w + i);
    f32x4 gv = add4(load4(g + i), mul4(wv, l24));
    f32x4 vv = sub4(mul4(load4(v + i), m4), mul4(gv, lr4));
    store4(v_out + i, vv);
    store4(w_out + i, add4(wv, vv));
  }
  for (; i < n; i++) {
    float gi = g[i] + w[i] * l2;
    float vi = v[i] * momentum - gi * lr;
    v_out[i] = vi;
    w_out[i] = w[i] + vi;
  }
}
