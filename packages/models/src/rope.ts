import type { Backend, Tensor } from '@peftjs/tensor';
import { tensor } from '@peftjs/tensor';
import type { RopeScaling } from './config.js';

const f = Math.fround;

/**
 * RoPE inverse frequencies [dim / 2] exactly as Hugging Face computes them — in float32:
 * `1 / base^(arange(0, dim, 2) / dim)`, then the scaling of `rope_type` (`linear`: ÷ factor; `llama3`: Llama 3.1's
 * wavelength-dependent interpolation).
 */
export function ropeInvFreq(dim: number, base: number, scaling: RopeScaling = { rope_type: 'default' }): Float32Array {
  const half = dim / 2;
  const inv = new Float32Array(half);
  for (let i = 0; i < half; i++) inv[i] = f(1 / f(base ** f((2 * i) / dim)));
  if (scaling.rope_type === 'linear') {
    for (let i = 0; i < half; i++) inv[i] = f(inv[i] / scaling.factor);
  } else if (scaling.rope_type === 'llama3') {
    const { factor, low_freq_factor: lo, high_freq_factor: hi, original_max_position_embeddings: old } = scaling;
    const lowFreqWavelen = old / lo;
    const highFreqWavelen = old / hi;
    for (let i = 0; i < half; i++) {
      const wavelen = f((2 * Math.PI) / inv[i]);
      // wavelen < high_freq_wavelen: unchanged; > low_freq_wavelen: divided by factor; in between: smoothed
      let v = wavelen > lowFreqWavelen ? f(inv[i] / factor) : inv[i];
      const medium = !(wavelen < highFreqWavelen) && !(wavelen > lowFreqWavelen);
      if (medium) {
        const smooth = f((f(old / wavelen) - lo) / (hi - lo));
        v = f(f((1 - smooth) * f(v / factor)) + f(smooth * v));
      }
      inv[i] = v;
    }
  }
  return inv;
}

/**
 * cos / sin tables [positions.length, dim] in the rotate-half layout (the angles duplicated over both halves), as
 * Hugging Face's `LlamaRotaryEmbedding.forward`: angle = float32(position · inv_freq), then cos/sin in float32.
 */
export function ropeTables(
  positions: readonly number[],
  invFreq: Float32Array,
  backend?: Backend,
): { cos: Tensor; sin: Tensor } {
  const half = invFreq.length;
  const dim = 2 * half;
  const cos = new Float32Array(positions.length * dim);
  const sin = new Float32Array(positions.length * dim);
  positions.forEach((p, t) => {
    for (let i = 0; i < half; i++) {
      const angle = f(p * invFreq[i]);
      cos[t * dim + i] = cos[t * dim + i + half] = Math.cos(angle);
      sin[t * dim + i] = sin[t * dim + i + half] = Math.sin(angle);
    }
  });
  return {
    cos: tensor(cos, [positions.length, dim], { backend }),
    sin: tensor(sin, [positions.length, dim], { backend }),
  };
}
