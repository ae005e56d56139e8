import { type LinearLike, Module } from '@peftjs/nn';
import {
  add,
  type Backend,
  dequantize4bit as dequantize4bitOp,
  dequantizeInt8 as dequantizeInt8Op,
  getBackend,
  type Int8Weight,
  matmul4bit,
  matmulInt8,
  noGrad,
  type Quant4bitWeight,
  reshape,
  type Tensor,
  tensor,
} from '@peftjs/tensor';
import { blockCount, type Quantize4bitOptions, type Quantized4bit, quantize4bit } from './blockwise.js';
import type { QuantType4bit } from './codes.js';
import { QuantizationError } from './errors.js';
import { type QuantizedInt8, quantizeInt8Rowwise } from './int8.js';

/** Options of {@link Linear4bit.fromQuantized} / {@link Linear8bit.fromQuantized}. */
export interface QuantLinearOptions {
  /** Backend for the stored bytes (the active one otherwise). */
  backend?: Backend;
  /** The bias [out] (float32 values), or null. */
  bias?: Float32Array | null;
  /** The dtype the weight had before quantization, as bitsandbytes records it (default 'float32'). */
  dtype?: string;
}

abstract class QuantLinear extends Module implements LinearLike {
  /** Marks the `LinearLike` protocol of `@peftjs/nn`. */
  readonly linearLike = true as const;
  /** The weight is stored [out, in]. */
  readonly fanInFanOut = false;
  /** The weight is stored quantized. */
  readonly quantized = true;
  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
  ) {
    super();
    this.registerBuffer('pending_weight', null, { persistent: false });
  }
  get bias(): Tensor | null {
    return this.optionalParam('bias');
  }
  protected setBias(values: Float32Array | null | undefined, backend: Backend): void {
    if (values && values.length !== this.outFeatures) {
      throw new QuantizationError('BAD_SHAPE', `bias has ${values.length} values, expected ${this.outFeatures}`);
    }
    this.registerParameter('bias', values ? tensor(values, [this.outFeatures], { backend }) : null);
  }
  protected withBias(y: Tensor): Tensor {
    const b = this.bias;
    if (!b) return y;
    const out = add(y, b);
    y.dispose();
    return out;
  }
  forward(x: Tensor): Tensor {
    return this.withBias(this.linearNoBias(x));
  }
  /** x·Wᵀ without the bias, dequantizing inside the kernel (no dense W is formed, even for backward). */
  abstract linearNoBias(x: Tensor): Tensor;
  /** The dequantized weight (a temporary the caller owns). */
  protected abstract dequantized(): Tensor;
  /** Quantize host values [out, in] into the stored weight. */
  protected abstract storeDense(values: Float32Array): void;

  denseWeight(): Tensor {
    const p = this.pendingWeight;
    return p ? reshape(p, p.shape) : this.dequantized();
  }

  /**
   * Quantize `w` ([out, in], float32) into this layer, replacing its stored weight, as PEFT's merge into a
   * bitsandbytes layer does. Quantizing needs the values on the host: on the CPU this happens now; on a backend
   * without synchronous readback (WebGPU) `w` is kept until {@link settle} (or `settleQuantized(model)`) quantizes
   * it, and the layer refuses to run before that.
   */
  setDenseWeight(w: Tensor): void {
    this.checkDense(w);
    if (w.backend.readSync) {
      this.setBuffer('pending_weight', null)?.dispose();
      this.storeDense(w.dataSync() as Float32Array);
      return;
    }
    this.setBuffer(
      'pending_weight',
      noGrad(() => w.detach()),
    )?.dispose();
  }

  /** {@link setDenseWeight} on any backend, quantizing at once (reads `w` back first). */
  async setDenseWeightAsync(w: Tensor): Promise<void> {
    this.checkDense(w);
    const values = (await w.data()) as Float32Array;
    this.setBuffer('pending_weight', null)?.dispose();
    this.storeDense(values);
  }

  /** Whether a dense weight given to {@link setDenseWeight} still waits for {@link settle}. */
  get hasPendingWeight(): boolean {
    return this.pendingWeight !== null;
  }

  /** Quantize the weight {@link setDenseWeight} left pending (nothing to do when there is none). */
  async settle(): Promise<void> {
    const p = this.pendingWeight;
    if (!p) return;
    const values = (await p.data()) as Float32Array;
    this.setBuffer('pending_weight', null)?.dispose();
    this.storeDense(values);
  }

  protected get pendingWeight(): Tensor | null {
    try {
      return this.buffer('pending_weight');
    } catch {
      return null;
    }
  }

  protected checkSettled(): void {
    if (this.pendingWeight) {
      throw new QuantizationError(
        'PENDING_WEIGHT',
        `${this.typeName}: a new dense weight waits to be quantized: await settleQuantized(model) (or layer.settle()) first`,
      );
    }
  }
  protected checkDense(w: Tensor): void {
    if (w.rank !== 2 || w.shape[0] !== this.outFeatures || w.shape[1] !== this.inFeatures || w.dtype !== 'f32') {
      throw new QuantizationError(
        'BAD_SHAPE',
        `a dense weight must be f32 [${this.outFeatures}, ${this.inFeatures}], got ${w.dtype} [${w.shape.join(', ')}]`,
      );
    }
  }
}

/**
 * bitsandbytes' `Linear4bit` as a frozen base layer: the weight is stored as packed NF4/FP4 codes (u8), block
 * scales (f32, or u8 codes plus f32 nested scales with double quantization) on the backend, and every product
 * dequantizes it inside the kernel. Its state dict holds `weight` (the packed bytes, [ceil(n/2), 1] as
 * bitsandbytes, a frozen u8 parameter); the other transformers keys are written by `quantizedStateDict`.
 */
export class Linear4bit extends QuantLinear {
  quantType: QuantType4bit;
  blocksize: number;
  /** Dtype recorded in the quant state (`dtype` of bitsandbytes' QuantState). */
  dtype: string;
  private code: number[];
  private nestedLayout: { code: number[]; blocksize: number; offset: number } | null;

  private constructor(q: Quantized4bit, opts: QuantLinearOptions) {
    if (q.shape.length !== 2)
      throw new QuantizationError('BAD_SHAPE', `a Linear4bit weight must be 2-D, got [${q.shape}]`);
    super(q.shape[1], q.shape[0]);
    this.quantType = q.quantType;
    this.blocksize = q.blocksize;
    this.dtype = opts.dtype ?? 'float32';
    this.code = [...q.code];
    this.nestedLayout = null;
    const backend = opts.backend ?? getBackend();
    this.store(q, backend);
    this.setBias(opts.bias, backend);
  }

  /** A layer holding an already-quantized weight (e.g. read from a transformers checkpoint). */
  static fromQuantized(q: Quantized4bit, opts: QuantLinearOptions = {}): Linear4bit {
    checkQuantized4bit(q);
    return new Linear4bit(q, opts);
  }

  /** Quantize a dense [out, in] float32 weight (values on the host) as bitsandbytes does. */
  static quantize(
    weight: Float32Array,
    outFeatures: number,
    inFeatures: number,
    opts: Quantize4bitOptions & QuantLinearOptions = {},
  ): Linear4bit {
    return new Linear4bit(quantize4bit(weight, [outFeatures, inFeatures], opts), opts);
  }

  /** Whether the block scales are double-quantized. */
  get doubleQuant(): boolean {
    return this.nestedLayout !== null;
  }

  private store(q: Quantized4bit, backend: Backend): void {
    const n = this.outFeatures * this.inFeatures;
    // A frozen parameter, as bitsandbytes' Params4bit: adapter methods find the layer's backend and device there.
    this.registerParameter('weight', tensor(q.packed, [(n + 1) >> 1, 1], { dtype: 'u8', backend }));
    if (q.nested) {
      this.registerBuffer('absmax', tensor(q.nested.codes, [q.nested.codes.length], { dtype: 'u8', backend }), {
        persistent: false,
      });
      this.registerBuffer('nested_absmax', tensor(q.nested.absmax, [q.nested.absmax.length], { backend }), {
        persistent: false,
      });
      this.nestedLayout = { code: [...q.nested.code], blocksize: q.nested.blocksize, offset: q.nested.offset };
    } else {
      this.registerBuffer('absmax', tensor(q.absmax as Float32Array, [blockCount(n, q.blocksize)], { backend }), {
        persistent: false,
      });
      this.registerBuffer('nested_absmax', null, { persistent: false });
      this.nestedLayout = null;
    }
  }

  private replace(q: Quantized4bit): void {
    const backend = this.param('weight').backend;
    const old = [this.param('weight'), this.buffer('absmax'), this.optionalBuffer('nested_absmax')];
    this.setParameter('weight', tensor(q.packed, [q.packed.length, 1], { dtype: 'u8', backend }));
    if (q.nested) {
      this.setBuffer('absmax', tensor(q.nested.codes, [q.nested.codes.length], { dtype: 'u8', backend }));
      this.setBuffer('nested_absmax', tensor(q.nested.absmax, [q.nested.absmax.length], { backend }));
      this.nestedLayout = { code: [...q.nested.code], blocksize: q.nested.blocksize, offset: q.nested.offset };
    } else {
      this.setBuffer('absmax', tensor(q.absmax as Float32Array, [(q.absmax as Float32Array).length], { backend }));
      this.setBuffer('nested_absmax', null);
    }
    for (const t of old) t?.dispose();
  }

  private optionalBuffer(name: string): Tensor | null {
    try {
      return this.buffer(name);
    } catch {
      return null;
    }
  }

  /** The stored weight as the tensor layer's kernels take it. The tensors are the layer's own. */
  get quantWeight(): Quant4bitWeight {
    const packed = this.param('weight');
    return {
      packed,
      absmax: this.buffer('absmax'),
      nestedAbsmax: this.nestedLayout ? this.buffer('nested_absmax') : null,
      layout: {
        code: this.code,
        blocksize: this.blocksize,
        shape: [this.outFeatures, this.inFeatures],
        nested: this.nestedLayout,
      },
    };
  }

  linearNoBias(x: Tensor): Tensor {
    this.checkSettled();
    return matmul4bit(x, this.quantWeight);
  }

  protected dequantized(): Tensor {
    return dequantize4bitOp(this.quantWeight);
  }

  protected storeDense(values: Float32Array): void {
    this.replace(this.requantize(values));
  }

  private requantize(values: Float32Array): Quantized4bit {
    return quantize4bit(values, [this.outFeatures, this.inFeatures], {
      quantType: this.quantType,
      blocksize: this.blocksize,
      doubleQuant: this.doubleQuant,
    });
  }

  /** The stored weight, read back to the host. */
  async toQuantized(): Promise<Quantized4bit> {
    const w = this.quantWeight;
    const packed = (await w.packed.data()) as Uint8Array;
    const code = Float32Array.from(this.code);
    const shape = [this.outFeatures, this.inFeatures];
    const base = { quantType: this.quantType, blocksize: this.blocksize, shape, packed, code };
    if (!this.nestedLayout) return { ...base, absmax: (await w.absmax.data()) as Float32Array, nested: null };
    const l = this.nestedLayout;
    return {
      ...base,
      absmax: null,
      nested: {
        codes: (await w.absmax.data()) as Uint8Array,
        absmax: (await (w.nestedAbsmax as Tensor).data()) as Float32Array,
        code: Float32Array.from(l.code),
        blocksize: l.blocksize,
        offset: l.offset,
      },
    };
  }

  protected override extraRepr(): string {
    return `in_features=${this.inFeatures}, out_features=${this.outFeatures}, bias=${this.bias !== null}, quant_type=${this.quantType}, blocksize=${this.blocksize}, double_quant=${this.doubleQuant}`;
  }
}

/** Structural checks of a host-side 4-bit tensor (lengths against shape and block size). */
export function checkQuantized4bit(q: Quantized4bit, tensorName?: string): void {
  const n = q.shape.reduce((a, b) => a * b, 1);
  if (q.shape.length !== 2 || !q.shape.every((d) => Number.isSafeInteger(d) && d > 0)) {
    throw new QuantizationError('BAD_SHAPE', `shape [${q.shape.join(', ')}] is not a 2-D Linear weight`, tensorName);
  }
  if (q.packed.length !== Math.ceil(n / 2)) {
    throw new QuantizationError(
      'BAD_LENGTH',
      `${q.packed.length} packed bytes do not hold shape [${q.shape.join(', ')}] (${Math.ceil(n / 2)} bytes)`,
      tensorName,
    );
  }
  const blocks = blockCount(n, q.blocksize);
  if (q.code.length !== 16)
    throw new QuantizationError('BAD_LENGTH', `quant_map has ${q.code.length} values, not 16`, tensorName);
  if (q.nested) {
    if (q.nested.codes.length !== blocks) {
      throw new QuantizationError(
        'BAD_LENGTH',
        `${q.nested.codes.length} absmax codes for ${blocks} blocks`,
        tensorName,
      );
    }
    const nb = blockCount(blocks, q.nested.blocksize);
    if (q.nested.absmax.length !== nb) {
      throw new QuantizationError(
        'BAD_LENGTH',
        `${q.nested.absmax.length} nested absmax values for ${nb} blocks`,
        tensorName,
      );
    }
    if (q.nested.code.length !== 256) {
      throw new QuantizationError(
        'BAD_LENGTH',
        `nested_quant_map has ${q.nested.code.length} values, not 256`,
        tensorName,
      );
    }
    if (!Number.isFinite(q.nested.offset))
      throw new QuantizationError('BAD_QUANT_STATE', 'nested_offset is not finite', tensorName);
  } else if (!q.absmax || q.absmax.length !== blocks) {
    throw new QuantizationError(
      'BAD_LENGTH',
      `${q.absmax?.length ?? 0} absmax values for ${blocks} blocks`,
      tensorName,
    );
  }
}

/**
 * LLM.int8 storage as a frozen base layer (bitsandbytes `Linear8bitLt` with `has_fp16_weights=False`): int8 codes
 * [out, in] and one f32 scale per row (`SCB`), both on the backend; products dequantize inside the kernel
 * (weight-only int8: float32 math). State dict: `weight` (i8), `SCB` (f32), `weight_format` (u8 0 = row-major),
 * exactly the keys transformers saves.
 */
export class Linear8bit extends QuantLinear {
  private constructor(q: QuantizedInt8, opts: QuantLinearOptions) {
    super(q.shape[1], q.shape[0]);
    const backend = opts.backend ?? getBackend();
    this.registerParameter('weight', tensor(q.weight, [...q.shape], { dtype: 'i8', backend }));
    this.registerBuffer('SCB', tensor(q.scb, [q.shape[0]], { backend }));
    this.registerBuffer('weight_format', tensor(Uint8Array.of(0), [], { dtype: 'u8', backend }));
    this.setBias(opts.bias, backend);
  }

  static fromQuantized(q: QuantizedInt8, opts: QuantLinearOptions = {}): Linear8bit {
    const [rows, cols] = q.shape;
    if (!(rows > 0 && cols > 0) || q.weight.length !== rows * cols || q.scb.length !== rows) {
      throw new QuantizationError('BAD_LENGTH', `int8 weight [${rows}, ${cols}] with ${q.scb.length} row scales`);
    }
    return new Linear8bit(q, opts);
  }

  static quantize(
    weight: Float32Array,
    outFeatures: number,
    inFeatures: number,
    opts: QuantLinearOptions = {},
  ): Linear8bit {
    return new Linear8bit(quantizeInt8Rowwise(weight, outFeatures, inFeatures), opts);
  }

  get int8Weight(): Int8Weight {
    return { weight: this.param('weight'), scb: this.buffer('SCB') };
  }

  linearNoBias(x: Tensor): Tensor {
    this.checkSettled();
    return matmulInt8(x, this.int8Weight);
  }

  protected dequantized(): Tensor {
    return dequantizeInt8Op(this.int8Weight);
  }

  protected storeDense(values: Float32Array): void {
    this.replace(quantizeInt8Rowwise(values, this.outFeatures, this.inFeatures));
  }

  private replace(q: QuantizedInt8): void {
    const backend = this.param('weight').backend;
    const old = [this.param('weight'), this.buffer('SCB')];
    this.setParameter('weight', tensor(q.weight, [...q.shape], { dtype: 'i8', backend }));
    this.setBuffer('SCB', tensor(q.scb, [q.shape[0]], { backend }));
    for (const t of old) t.dispose();
  }

  async toQuantized(): Promise<QuantizedInt8> {
    return {
      shape: [this.outFeatures, this.inFeatures],
      weight: (await this.param('weight').data()) as Int8Array,
      scb: (await this.buffer('SCB').data()) as Float32Array,
    };
  }

  protected override extraRepr(): string {
    return `in_features=${this.inFeatures}, out_features=${this.outFeatures}, bias=${this.bias !== null}, int8`;
  }
}

/**
 * Quantize every dense weight that `setDenseWeight` left pending in `model`'s quantized layers (after a merge on a
 * backend without synchronous readback, e.g. `peft.mergeAndUnload()` on WebGPU). Returns how many were settled.
 */
export async function settleQuantized(model: Module): Promise<number> {
  let n = 0;
  for (const [, m] of model.namedModules()) {
    if ((m instanceof Linear4bit || m instanceof Linear8bit) && m.hasPendingWeight) {
      await m.settle();
      n++;
    }
  }
  return n;
}
