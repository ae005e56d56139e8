// docs/guides/backends-and-memory.md, runnable: `pnpm build && XDG_RUNTIME_DIR=/tmp/xdg npx tsx examples/guides/backends.ts`.
// Memory rules on the CPU backend, then the same computation on WebGPU (Dawn in Node), compared with the CPU.
import { initBackend, keep, memory, randn, setBackend, type Tensor, tensor, tidy } from '@peftjs/tensor';
import {
  formatDeviceReport,
  getWebGPUBackend,
  registerWebGPUBackend,
  WebGPUUnavailableError,
} from '@peftjs/kernels-webgpu';

const start = memory();

// tidy: everything created inside is freed, except what the callback returns.
const x = randn([256, 256]);
const y = tidy(() => x.matmul(x).relu().sum());
console.log(`sum ${(await y.item()).toFixed(3)}`); // readback is async on every backend
y.dispose();

// keep: a tensor made inside tidy that must outlive it without being returned.
let doubled!: Tensor;
tidy(() => {
  doubled = keep(x.mul(2));
  x.add(1); // freed when tidy returns
});
doubled.dispose();

// using: disposed at the end of the block (TypeScript 5.2+ explicit resource management).
{
  using t = x.transpose();
  console.log(`transpose shape [${t.shape}]`);
}
x.dispose();
const end = memory();
console.log(`leak check: tensors ${start.tensors} → ${end.tensors}, bytes ${start.bytes} → ${end.bytes}`);

// The same small MLP step on CPU and on WebGPU; only the backend differs.
async function forwardBackward(backend: string): Promise<{ loss: number; grad: Float32Array }> {
  const b = await initBackend(backend);
  const w = tensor(
    Float32Array.from({ length: 64 }, (_, i) => Math.sin(i)),
    [8, 8],
    { backend: b },
  );
  w.requiresGrad = true;
  const input = tensor(
    Float32Array.from({ length: 32 }, (_, i) => Math.cos(i)),
    [4, 8],
    { backend: b },
  );
  const loss = tidy(() => {
    const l = input.matmul(w).tanh().square().mean();
    l.backward();
    return l;
  });
  const out = { loss: await loss.item(), grad: (await w.grad!.data()) as Float32Array };
  for (const t of [w, input, loss]) t.dispose();
  return out;
}

const cpu = await forwardBackward('cpu');
registerWebGPUBackend(); // adds 'webgpu' to the backend registry; no device is requested yet
try {
  const gpu = await forwardBackward('webgpu'); // requests the adapter and device on first use
  const report = (await getWebGPUBackend()).report;
  console.log(`webgpu: ${formatDeviceReport(report)}`);
  let maxErr = 0;
  for (let i = 0; i < cpu.grad.length; i++) maxErr = Math.max(maxErr, Math.abs(cpu.grad[i] - gpu.grad[i]));
  console.log(`loss cpu ${cpu.loss.toFixed(6)} webgpu ${gpu.loss.toFixed(6)}; max |Δgrad| ${maxErr.toExponential(2)}`);
  await setBackend('webgpu'); // from here on, new tensors default to WebGPU
  console.log(`memory by backend: ${JSON.stringify(memory().byBackend)}`);
} catch (e) {
  if (!(e instanceof WebGPUUnavailableError)) throw e;
  console.log(`no WebGPU here: ${e.message}`);
}
