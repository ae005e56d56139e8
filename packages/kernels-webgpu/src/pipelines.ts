/// <reference types="@webgpu/types" />
import { WebGPUError, type WebGPUErrorKind } from './errors.js';
import { type Program, programSource } from './program.js';

const SHADER_STAGE_COMPUTE = 0x4;

interface PipelineEntry {
  pipeline: GPUComputePipeline;
  kernel: string;
}

/**
 * Compute pipelines by program key (compiled on first use) and bind-group layouts by binding count. A shader that
 * fails to compile is reported through `report` (with the compiler's messages) and dropped from the cache.
 */
export class PipelineCache {
  private pipelines = new Map<string, PipelineEntry>();
  private layouts = new Map<string, { bindGroupLayout: GPUBindGroupLayout; pipelineLayout: GPUPipelineLayout }>();

  constructor(
    private readonly device: GPUDevice,
    /** Called with the promise of a pipeline's validation check. */
    private readonly track: (check: Promise<void>) => void,
    private readonly report: (e: WebGPUError) => void,
  ) {}

  get size(): number {
    return this.pipelines.size;
  }

  clear(): void {
    this.pipelines.clear();
    this.layouts.clear();
  }

  /** Whether `s` names a kernel of a cached pipeline (Dawn quotes labels, which are program keys). */
  isKernelLabel(s: string): boolean {
    for (const e of this.pipelines.values()) if (e.kernel === s) return true;
    return false;
  }

  layout(nIn: number, nOut: number): { bindGroupLayout: GPUBindGroupLayout; pipelineLayout: GPUPipelineLayout } {
    const key = `${nIn}:${nOut}`;
    let l = this.layouts.get(key);
    if (!l) {
      const entries: GPUBindGroupLayoutEntry[] = [
        // the uniform struct sits in the batch's uniform ring, at a dynamic offset
        { binding: 0, visibility: SHADER_STAGE_COMPUTE, buffer: { type: 'uniform', hasDynamicOffset: true } },
      ];
      for (let i = 0; i < nIn; i++)
        entries.push({ binding: 1 + i, visibility: SHADER_STAGE_COMPUTE, buffer: { type: 'read-only-storage' } });
      for (let i = 0; i < nOut; i++)
        entries.push({ binding: 1 + nIn + i, visibility: SHADER_STAGE_COMPUTE, buffer: { type: 'storage' } });
      const bindGroupLayout = this.device.createBindGroupLayout({ entries, label: `layout ${key}` });
      const pipelineLayout = this.device.createPipelineLayout({ bindGroupLayouts: [bindGroupLayout] });
      l = { bindGroupLayout, pipelineLayout };
      this.layouts.set(key, l);
    }
    return l;
  }

  /** The compute pipeline of a program, compiled on first use and cached by its key. */
  pipeline(program: Program): GPUComputePipeline {
    const hit = this.pipelines.get(program.key);
    if (hit) return hit.pipeline;
    const code = programSource(program);
    const dev = this.device;
    dev.pushErrorScope('validation');
    const module = dev.createShaderModule({ code, label: program.key });
    const pipeline = dev.createComputePipeline({
      layout: this.layout(program.inputs.length, program.outputs.length).pipelineLayout,
      compute: { module, entryPoint: 'main' },
      label: program.key,
    });
    const scope = dev.popErrorScope();
    this.pipelines.set(program.key, { pipeline, kernel: program.kernel });
    this.track(
      scope.then(async (err) => {
        if (!err) return;
        this.pipelines.delete(program.key);
        let detail = err.message;
        let kind: WebGPUErrorKind = 'validation';
        try {
          const info = await module.getCompilationInfo();
          const msgs = info.messages.filter((m) => m.type === 'error');
          if (msgs.length) {
            kind = 'compilation';
            detail = msgs.map((m) => `line ${m.lineNum}:${m.linePos}: ${m.message}`).join('; ');
          }
        } catch {
          // keep the validation message
        }
        this.report(new WebGPUError(kind, program.kernel, `program ${program.key}: ${detail}`));
      }),
    );
    return pipeline;
  }
}
