/** Messages between the page and its training worker. */
import type { CpuThreading } from '@peftjs/tensor';
import type { StepInfo } from '@peftjs/trainer';
import type { RunSpec } from './recipe.js';

export type BackendChoice = 'auto' | 'webgpu' | 'cpu';
export type CorpusChoice = 'moby-dick' | 'sotu' | 'text';

export interface EnvironmentReport {
  /** The backend runs use. */
  backend: 'webgpu' | 'cpu';
  /** WebGPU: the adapter when available, else why not. */
  webgpu: { available: true; adapter: string } | { available: false; reason: string };
  /** How the CPU backend runs here (threads, or why single-threaded). */
  cpu: string;
  /** Methods the page offers. */
  methods: string[];
}

export interface TrainRequest {
  spec: RunSpec;
  corpus: CorpusChoice;
  /** The pasted text, for corpus 'text'. */
  text?: string;
  /** Prompt generated from before and after training ('' for none). */
  prompt: string;
  maxNewTokens: number;
}

export interface TrainReport {
  history: StepInfo[];
  heldOutBefore: number;
  heldOutAfter: number;
  tokensPerSecond: number;
  stoppedReason: string;
  trainableParams: number;
  generatedBefore: string;
  generatedAfter: string;
  backend: 'webgpu' | 'cpu';
  /** The CPU backend's threads after the run (helpers start on the first large product). */
  cpuThreading: CpuThreading;
}

/** Requests (page → worker), each answered by a `result` or `error` with the same id. */
export type Request =
  | { id: number; type: 'init'; backend: BackendChoice; pageHasWebGPU: boolean }
  | { id: number; type: 'train'; request: TrainRequest }
  | { id: number; type: 'stop' }
  | { id: number; type: 'generate'; prompt: string; maxNewTokens: number }
  | { id: number; type: 'heldOutLoss'; data: DataRequest }
  | { id: number; type: 'exportAdapter' }
  | { id: number; type: 'importAdapter'; config: Record<string, unknown>; weights: Uint8Array };

/** Which text a held-out loss is measured on. */
export type DataRequest = Pick<TrainRequest, 'spec' | 'corpus' | 'text'>;

/** Worker → page. */
export type Reply =
  | { type: 'result'; id: number; value: unknown }
  | { type: 'error'; id: number; message: string }
  | { type: 'step'; info: StepInfo; total: number; tokensPerSecond: number }
  | { type: 'status'; text: string };
