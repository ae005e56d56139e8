/** One point of a training loss curve. */
export interface CurvePoint {
  step: number;
  loss: number;
}

/** Held-out metrics. `accuracy` is next-token (or label) accuracy in [0, 1], null when not measured. */
export interface EvalMetrics {
  loss: number;
  perplexity: number;
  accuracy: number | null;
}

/** What one method achieved under the shared budget. */
export interface MethodResult {
  /** Label (a preset name, or a config file's name). */
  name: string;
  /** PEFT's peft_type (several presets may share one, with different options). */
  peftType: string;
  /** The PEFT config the method was trained with (as given). */
  config: Record<string, unknown>;
  /** The peak learning rate it trained with (the shared one unless the method brought its own). */
  lr?: number;
  trainableParams: number;
  totalParams: number;
  /** 100 · trainable / total. */
  trainablePercent: number;
  /**
   * Bytes of the trained adapter's `adapter_model.safetensors` as `toAdapterFiles()` writes it (with the method's
   * own save format, if it has one). Absent in comparisons saved before this field existed.
   */
  adapterFileBytes?: number;
  /** Bytes the frozen base parameters hold on the backend (a quantized base holds its packed bytes). */
  baseWeightBytes?: number;
  steps: number;
  trainSeconds: number;
  tokensPerSecond: number;
  /** Peak bytes held by live tensors during training. */
  peakTensorBytes: number;
  /** Peak resident set size of the process during training. */
  peakRssBytes: number;
  /** Held-out metrics after training. */
  final: EvalMetrics;
  /** Training loss per optimizer step. */
  lossCurve: CurvePoint[];
  /** Held-out loss at each evaluation during training (and at the end). */
  evalCurve: CurvePoint[];
  /** Why training stopped (e.g. "maxSteps", "epochs", "nonFinite"). */
  stoppedReason: string;
}

/** The outcome of {@link compareMethods}. */
export interface ComparisonResult {
  /** Held-out metrics of the base model before any training (the same for every method). */
  baseline: EvalMetrics | null;
  methods: MethodResult[];
  /** The shared training settings (JSON-safe subset of the trainer options). */
  budget: Record<string, unknown>;
  /** ISO time the comparison finished. */
  createdAt: string;
}
