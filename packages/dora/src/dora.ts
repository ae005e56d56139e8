import type { LoraLayer, LoraVariant } from '@peftjs/lora';
import { type LinearLike, linearNoBias, Module } from '@peftjs/nn';
import { PeftConfigError } from '@peftjs/registry';
import {
  add,
  addScaled,
  div,
  doraCombine,
  matmul,
  mul,
  noGrad,
  reshape,
  sqrt,
  square,
  sub,
  sum,
  type Tensor,
  tidy,
} from '@peftjs/tensor';

/** Holds one adapter's magnitude vector as `weight` (PEFT: `lora_magnitude_vector.<adapter>.weight`). */
export class DoraMagnitude extends Module {
  constructor(weight: Tensor) {
    super();
    weight.requiresGrad = true;
    this.registerParameter('weight', weight);
  }
  get weight(): Tensor {
    return this.param('weight');
  }
}

const MAGNITUDE = 'lora_magnitude_vector';

/** ‖W + s·BA‖ per output row, [out], with no gradient (PEFT detaches the norm, as the paper prescribes). */
function weightNorm(layer: LoraLayer, adapter: string): Tensor {
  // W + s·(B·A) as one addScaled pass (the same roundings as adding deltaOutIn)
  return noGrad(() =>
    tidy(() => {
      const ba = matmul(layer.loraB(adapter), layer.loraA(adapter));
      return sqrt(sum(square(addScaled(layer.baseWeightOutIn(), ba, layer.scaling(adapter))), 1));
    }),
  );
}

function magnitude(layer: LoraLayer, adapter: string): Tensor {
  return layer.variantModules<DoraMagnitude>(MAGNITUDE).get(adapter).weight;
}

/**
 * DoRA (PEFT's `DoraLinearVariant`): y = base(x) + (m/‖W+sBA‖ − 1)·(x·Wᵀ) + (m/‖W+sBA‖)·B(A(x))·s, with the norm
 * detached. With dropout active, the base term is recomputed on the dropped-out input, as PEFT does.
 */
export const doraVariant: LoraVariant = {
  name: 'dora',
  applies: (config) => config.use_dora === true,

  init(layer, adapter) {
    if (layer.kind === 'embedding') {
      throw new PeftConfigError(
        'use_dora',
        'DoRA on Embedding layers is not supported by @peftjs/dora yet (Linear and Conv1D are)',
      );
    }
    layer.variantModules<DoraMagnitude>(MAGNITUDE).set(adapter, new DoraMagnitude(weightNorm(layer, adapter)));
  },

  forward(layer, adapter, x, result) {
    const s = layer.scaling(adapter);
    const m = magnitude(layer, adapter);
    const norm = weightNorm(layer, adapter);
    // [out]; gradient reaches m only. `norm` lives as long as the output (div's gradient divides by it).
    const scale = div(m, norm);
    const xd = layer.dropout(adapter, x);
    const loraResult = layer.loraProduct(adapter, xd);
    const bias = layer.baseLayer.hasParameter('bias') ? layer.baseLayer.optionalParam('bias') : null;
    // the base layer's own product: on a quantized base its fused kernel, so no dense W is kept for backward
    const baseResult = layer.dropoutActive(adapter)
      ? linearNoBias(layer.baseLayer as unknown as LinearLike, xd)
      : bias
        ? sub(result, bias)
        : result;
    // result + (scale − 1)·base + (scale·lora)·s: one fused pass each way where the backend has it, rounded as
    // add(result, addScaled(mul(sub(scale, 1), base), mul(scale, lora), s)) (which it computes otherwise)
    return doraCombine(result, baseResult, loraResult, scale, s);
  },

  merge(layer, adapter) {
    const m = magnitude(layer, adapter);
    const norm = weightNorm(layer, adapter);
    const delta = layer.deltaOutIn(adapter);
    layer.updateBaseWeight((w) => mul(add(w, delta), reshape(div(m, norm), [-1, 1])));
    delta.dispose();
    cachedNorms.set(key(layer, adapter), norm);
  },

  unmerge(layer, adapter) {
    const k = key(layer, adapter);
    const norm = cachedNorms.get(k);
    if (!norm) throw new PeftConfigError('use_dora', 'unmerge without a recorded merge');
    const m = magnitude(layer, adapter);
    const delta = layer.deltaOutIn(adapter);
    layer.updateBaseWeight((w) => sub(div(w, reshape(div(m, norm), [-1, 1])), delta));
    delta.dispose();
    norm.dispose();
    cachedNorms.delete(k);
  },

  slots(layer, adapter) {
    return [{ key: MAGNITUDE, owner: layer.variantModules<DoraMagnitude>(MAGNITUDE).get(adapter), param: 'weight' }];
  },

  remove(layer, adapter) {
    layer.variantModules<DoraMagnitude>(MAGNITUDE).delete(adapter)?.dispose();
    const k = key(layer, adapter);
    cachedNorms.get(k)?.dispose();
    cachedNorms.delete(k);
  },
};

/** The weight norm at merge time, per (layer, adapter): unmerge divides by it (PEFT caches it the same way). */
const cachedNorms = new Map<string, Tensor>();
const layerIds = new WeakMap<LoraLayer, number>();
let nextId = 0;
function key(layer: LoraLayer, adapter: string): string {
  let id = layerIds.get(layer);
  if (id === undefined) {
    id = nextId++;
    layerIds.set(layer, id);
  }
  return `${id}:${adapter}`;
}
