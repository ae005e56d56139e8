/**
 * WGSL math shared by the kernels.
 *
 * WGSL's built-in transcendentals are allowed to be loose (exp: 3 + 2|x| ULP; log: 2^-21 absolute near 1; sin/cos:
 * 2^-11 absolute; tanh inherited from sinh/cosh, NaN for large |x| on some drivers), and implementations may assume
 * that no NaN or infinity occurs, so `x != x` can be folded away. The CPU backend computes in float64 and rounds
 * once, so these helpers do what it does within a few f32 ULP:
 * - NaN tests and NaN/∞ constants go through bit patterns (private vars, so no const-expression NaN, which WGSL
 *   rejects at shader creation);
 * - exp, log, sin and cos use Cephes-style range reduction and minimax polynomials (≈1–2 ULP);
 * - tanh is odd-series / exp based and saturates to ±1 beyond |x| = 9;
 * - erf is the Maclaurin series for |x| < 0.5 and 1 − erfc with the Numerical Recipes Chebyshev fit for erfc
 *   (fractional error < 1.2e-7) beyond: absolute error ≤ 1.5e-7 everywhere, relative error ≤ 3e-7. That is
 *   better than Abramowitz–Stegun 7.1.26 (1.5e-7 absolute but up to 1e-3 relative near 0).
 */
export const WGSL_MATH = /* wgsl */ `
var<private> NAN_BITS: u32 = 0x7fc00000u;
var<private> INF_BITS: u32 = 0x7f800000u;
fn f_nan() -> f32 { return bitcast<f32>(NAN_BITS); }
fn f_inf() -> f32 { return bitcast<f32>(INF_BITS); }
fn is_nan(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u; }
fn is_inf(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) == 0x7f800000u; }

// exp with Cody-Waite reduction: x = n·ln2 + r, |r| <= ln2/2; Cephes expf polynomial.
fn exp_acc(x: f32) -> f32 {
  if (is_nan(x)) { return x; }
  if (x > 88.72283935546875) { return f_inf(); }
  if (x < -103.972084045410) { return 0.0; }
  let n = floor(x * 1.44269504088896341 + 0.5);
  var r = x - n * 0.693359375;
  r = r + n * 2.12194440e-4;
  var p = 1.9875691500e-4;
  p = p * r + 1.3981999507e-3;
  p = p * r + 8.3334519073e-3;
  p = p * r + 4.1665795894e-2;
  p = p * r + 1.6666665459e-1;
  p = p * r + 5.0000001201e-1;
  let e = p * r * r + r + 1.0;
  // ldexp in two steps so that n down to -150 reaches the subnormal range and n = 128 gives +inf.
  let n1 = i32(n) / 2;
  return ldexp(ldexp(e, n1), i32(n) - n1);
}

// natural log: x = m·2^e with m in [sqrt(1/2), sqrt(2)); Cephes logf polynomial in m - 1.
fn log_acc(x: f32) -> f32 {
  if (is_nan(x)) { return x; }
  if (x < 0.0) { return f_nan(); }
  if (x == 0.0) { return -f_inf(); }
  if (is_inf(x)) { return x; }
  let fe = frexp(x);
  var m = fe.fract;
  var e = f32(fe.exp);
  if (m < 0.707106781186547524) { m = m * 2.0; e = e - 1.0; }
  let f = m - 1.0;
  let z = f * f;
  var y = 7.0376836292e-2;
  y = y * f - 1.1514610310e-1;
  y = y * f + 1.1676998740e-1;
  y = y * f - 1.2420140846e-1;
  y = y * f + 1.4249322787e-1;
  y = y * f - 1.6668057665e-1;
  y = y * f + 2.0000714765e-1;
  y = y * f - 2.4999993993e-1;
  y = y * f + 3.3333331174e-1;
  y = y * f * z;
  y = y - 2.12194440e-4 * e;
  y = y - 0.5 * z;
  return f + y + 0.693359375 * e;
}

fn sqrt_acc(x: f32) -> f32 {
  if (is_nan(x) || x < 0.0) { return f_nan(); }
  if (is_inf(x)) { return x; }
  return sqrt(x);
}

// sin/cos: reduce by pi/4 in three parts (exact for |x| < 8192), Cephes sinf/cosf polynomials.
fn sincos_poly(x: f32, want_cos: bool) -> f32 {
  if (is_nan(x) || is_inf(x)) { return f_nan(); }
  var sgn = 1.0;
  let a = abs(x);
  if (!want_cos && x < 0.0) { sgn = -1.0; }
  if (a > 8192.0) { return select(sgn * sin(a), cos(a), want_cos); }
  var j = u32(a * 1.27323954473516);
  var y = f32(j);
  if ((j & 1u) == 1u) { j = j + 1u; y = y + 1.0; }
  j = j & 7u;
  if (j > 3u) { j = j - 4u; sgn = -sgn; }
  if (want_cos && j > 1u) { sgn = -sgn; }
  let r = ((a - y * 0.78515625) - y * 2.4187564849853515625e-4) - y * 3.77489497744594108e-8;
  let z = r * r;
  let mid = j == 1u || j == 2u;
  var v: f32;
  if (mid != want_cos) {
    v = ((2.443315711809948e-5 * z - 1.388731625493765e-3) * z + 4.166664568298827e-2) * z * z - 0.5 * z + 1.0;
  } else {
    v = ((-1.9515295891e-4 * z + 8.3321608736e-3) * z - 1.6666654611e-1) * z * r + r;
  }
  return sgn * v;
}
fn sin_acc(x: f32) -> f32 { return sincos_poly(x, false); }
fn cos_acc(x: f32) -> f32 { return sincos_poly(x, true); }

fn tanh_acc(x: f32) -> f32 {
  if (is_nan(x)) { return x; }
  let a = abs(x);
  var t: f32;
  if (a < 0.125) {
    let z = x * x;
    t = x + x * z * (-0.333333333333 + z * (0.133333333333 + z * (-0.0539682539683 + z * 0.0218694885362)));
    return t;
  }
  if (a > 9.0) { t = 1.0; } else { t = 1.0 - 2.0 / (exp_acc(2.0 * a) + 1.0); }
  return select(t, -t, x < 0.0);
}

fn sigmoid_acc(x: f32) -> f32 {
  if (x >= 0.0) { return 1.0 / (1.0 + exp_acc(-x)); }
  let e = exp_acc(x);
  return e / (1.0 + e);
}

fn erfc_nr(z: f32) -> f32 {
  // Numerical Recipes erfcc, for z >= 0: fractional error < 1.2e-7.
  let t = 1.0 / (1.0 + 0.5 * z);
  let p = -z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 +
    t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
  return t * exp_acc(p);
}
fn erf_acc(x: f32) -> f32 {
  if (is_nan(x)) { return x; }
  let a = abs(x);
  if (a < 0.5) {
    let z = x * x;
    // 2/sqrt(pi) * (x - x^3/3 + x^5/10 - x^7/42 + x^9/216 - x^11/1320 + x^13/9360)
    return 1.1283791670955126 * x * (1.0 + z * (-0.3333333333333333 + z * (0.1 + z * (-0.023809523809523808 +
      z * (0.004629629629629629 + z * (-0.0007575757575757576 + z * 0.00010683760683760684))))));
  }
  if (a > 6.0) { return select(1.0, -1.0, x < 0.0); }
  let r = 1.0 - erfc_nr(a);
  return select(r, -r, x < 0.0);
}

fn gelu_f(x: f32) -> f32 { return 0.5 * x * (1.0 + erf_acc(x * 0.7071067811865476)); }
fn gelu_grad(x: f32) -> f32 {
  return 0.5 * (1.0 + erf_acc(x * 0.7071067811865476)) + x * exp_acc(-0.5 * x * x) * 0.3989422804014327;
}
fn gelu_tanh_f(x: f32) -> f32 { return 0.5 * x * (1.0 + tanh_acc(0.7978845608028654 * (x + 0.044715 * x * x * x))); }
fn gelu_tanh_grad(x: f32) -> f32 {
  let t = tanh_acc(0.7978845608028654 * (x + 0.044715 * x * x * x));
  return 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * 0.7978845608028654 * (1.0 + 3.0 * 0.044715 * x * x);
}

// a ** b with JavaScript's semantics (b = 0 gives 1 even for NaN a; negative bases need integer exponents).
fn pow_f(a: f32, b: f32) -> f32 {
  if (b == 0.0) { return 1.0; }
  if (is_nan(a) || is_nan(b)) { return f_nan(); }
  let bi = round(b);
  let is_int = bi == b && abs(b) < 16777216.0;
  if (is_int && abs(b) <= 16.0) {
    // repeated squaring for small integer exponents (x², x³, 1/x, …): as exact as f32 products go
    var e = u32(abs(bi));
    var base = a;
    var r = 1.0;
    loop {
      if ((e & 1u) == 1u) { r = r * base; }
      e = e >> 1u;
      if (e == 0u) { break; }
      base = base * base;
    }
    return select(r, 1.0 / r, b < 0.0);
  }
  let aa = abs(a);
  if (is_inf(b)) {
    if (aa == 1.0) { return f_nan(); }
    return select(0.0, f_inf(), (aa > 1.0) == (b > 0.0));
  }
  let neg = (bitcast<u32>(a) >> 31u) == 1u;
  let odd = is_int && (u32(abs(bi)) & 1u) == 1u;
  var r: f32;
  if (aa == 0.0 || is_inf(aa)) {
    // 0^+ = 0, 0^- = inf, inf^+ = inf, inf^- = 0
    r = select(0.0, f_inf(), (b < 0.0) == (aa == 0.0));
  } else {
    if (neg && !is_int) { return f_nan(); }
    r = exp_acc(b * log_acc(aa));
  }
  return select(r, -r, neg && odd);
}
`;
