import { engine, noGrad } from './engine.js';
import { GradError, ShapeError } from './errors.js';
import { shapesEqual } from './shape.js';
import { Tensor } from './tensor.js';
import * as ops from './ops/index.js';

/** Everything a gradient function may use: the op's inputs, its output and its attributes. */
export interface GradContext<A = unknown> {
  readonly inputs: readonly Tensor[];
  readonly output: Tensor;
  readonly attrs: A;
}

/**
 * A gradient function returns, per input, a thunk computing d(loss)/d(input) from `dy`, or null where the input is
 * not differentiable. Thunks run only for inputs that need a gradient: a frozen weight costs nothing.
 */
export type GradFn<A = unknown> = (dy: Tensor, ctx: GradContext<A>) => ReadonlyArray<(() => Tensor) | null>;

/**
 * Which values an op's gradient reads, given which inputs track gradients: `inputs[i]` true when input i's values
 * are read, `output` when the output's are. Registered with the gradient; ops without it are assumed to read
 * everything. Intermediates that no gradient reads are freed when their composite op ends (see {@link composite}).
 */
export type SavedValues = (tracks: readonly boolean[]) => { inputs?: readonly boolean[]; output?: boolean };

/** A recorded op application. */
export interface GradNode {
  readonly op: string;
  readonly inputs: readonly Tensor[];
  readonly attrs: unknown;
  readonly gradFn: GradFn<unknown>;
}

const ENGINE_GRADS = Symbol.for('@peftjs/tensor/gradients');
const g = globalThis as unknown as Record<symbol, Map<string, GradFn<unknown>> | undefined>;
g[ENGINE_GRADS] ??= new Map();
const gradientRegistry: Map<string, GradFn<unknown>> = g[ENGINE_GRADS];
const SAVED = Symbol.for('@peftjs/tensor/saved-values');
const gs = globalThis as unknown as Record<symbol, Map<string, SavedValues> | undefined>;
gs[SAVED] ??= new Map();
const savedRegistry: Map<string, SavedValues> = gs[SAVED];

/**
 * Register the gradient of op `name` (one per op, TF.js-style), optionally with the values it reads (default:
 * all inputs and the output).
 */
export function registerGradient<A>(name: string, fn: GradFn<A>, saved?: SavedValues): void {
  if (gradientRegistry.has(name)) throw new GradError(`a gradient for '${name}' is already registered`);
  gradientRegistry.set(name, fn as GradFn<unknown>);
  if (saved) savedRegistry.set(name, saved);
}

export function hasGradient(name: string): boolean {
  return gradientRegistry.has(name);
}

/**
 * Attach op `name` to `output` in the autograd graph, if recording is on and any input tracks gradients.
 * Op implementations call this right after computing their output.
 */
export function record<A>(name: string, inputs: readonly Tensor[], output: Tensor, attrs: A): Tensor {
  if (!engine.gradEnabled || !inputs.some((t) => t.tracksGrad)) return output;
  const gradFn = gradientRegistry.get(name);
  if (!gradFn) throw new GradError(`op '${name}' has no registered gradient`);
  output.gradNode = { op: name, inputs, attrs, gradFn };
  const saved = savedRegistry.get(name);
  if (!saved) {
    for (const t of inputs) t.savedForGrad = true;
    output.savedForGrad = true;
  } else {
    const s = saved(inputs.map((t) => t.tracksGrad));
    inputs.forEach((t, i) => {
      if (s.inputs?.[i]) t.savedForGrad = true;
    });
    if (s.output) output.savedForGrad = true;
  }
  return output;
}

/** Tensors (tracking gradients) in reverse topological order, starting from `root`. */
function reverseTopo(root: Tensor): Tensor[] {
  const order: Tensor[] = [];
  const seen = new Set<number>();
  // Iterative DFS: model graphs are deep enough to overflow the JS stack with recursion.
  const stack: [Tensor, number][] = [[root, 0]];
  seen.add(root.id);
  while (stack.length) {
    const top = stack[stack.length - 1];
    const [t, i] = top;
    const inputs = t.gradNode?.inputs ?? [];
    if (i < inputs.length) {
      top[1]++;
      const child = inputs[i];
      if (child.tracksGrad && !seen.has(child.id)) {
        seen.add(child.id);
        stack.push([child, 0]);
      }
    } else {
      stack.pop();
      order.push(t);
    }
  }
  return order.reverse();
}

/**
 * Backpropagate from `root`. Leaves with `requiresGrad` accumulate into `.grad`; intermediate gradients are freed
 * as soon as they have been used. Runs with recording off (no higher-order gradients).
 */
export function backward(root: Tensor, seed?: Tensor): void {
  if (!root.tracksGrad) throw new GradError('backward(): the tensor does not depend on any tensor with requiresGrad');
  if (!seed && root.size !== 1) {
    throw new GradError(`backward(): needs a scalar, got shape [${root.shape.join(', ')}]; pass a gradient to seed it`);
  }
  if (seed && !shapesEqual(seed.shape, root.shape)) {
    throw new ShapeError('backward', 'seed gradient shape differs from the tensor', [seed.shape, root.shape]);
  }
  noGrad(() => {
    const order = reverseTopo(root);
    const grads = new Map<number, Tensor>();
    grads.set(root.id, seed ? seed.detach() : ops.onesLike(root));
    for (const t of order) {
      const dy = grads.get(t.id);
      if (!dy) continue;
      grads.delete(t.id);
      const node = t.gradNode;
      if (!node) {
        if (t.requiresGrad) accumulateLeaf(t, dy);
        else dy.dispose();
        continue;
      }
      const reads = savedRegistry.get(node.op)?.(node.inputs.map((x) => x.tracksGrad));
      for (const [i, input] of node.inputs.entries()) {
        const needed = reads ? (reads.inputs?.[i] ?? false) : input.tracksGrad;
        if (input.isDisposed && needed) {
          dy.dispose();
          throw new GradError(
            `backward(): op '${node.op}' needs its input of shape [${input.shape.join(', ')}], which was disposed; ` +
              'run backward() inside the scope that ran the forward pass',
          );
        }
      }
      const thunks = node.gradFn(dy, { inputs: node.inputs, output: t, attrs: node.attrs });
      node.inputs.forEach((input, i) => {
        const thunk = thunks[i];
        if (!thunk || !input.tracksGrad) return;
        const gi = tidy(thunk);
        if (!shapesEqual(gi.shape, input.shape)) {
          throw new GradError(
            `gradient of '${node.op}' input ${i} has shape [${gi.shape.join(', ')}], expected [${input.shape.join(', ')}]`,
          );
        }
        const prev = grads.get(input.id);
        if (prev) {
          grads.set(input.id, ops.add(prev, gi));
          prev.dispose();
          gi.dispose();
        } else {
          grads.set(input.id, gi);
        }
      });
      dy.dispose();
    }
  });
}

function accumulateLeaf(leaf: Tensor, g: Tensor): void {
  if (leaf.grad) {
    const sum = ops.add(leaf.grad, g);
    leaf.grad.dispose();
    g.dispose();
    leaf.grad = sum;
  } else {
    leaf.grad = g;
  }
  keep(leaf.grad);
}

// ---------------------------------------------------------------------------------------------------------------
// Scopes

type TensorContainer = Tensor | readonly TensorContainer[] | { readonly [k: string]: TensorContainer } | unknown;

function collect(value: TensorContainer, out: Set<Tensor>): void {
  if (value instanceof Tensor) out.add(value);
  else if (Array.isArray(value)) for (const v of value) collect(v, out);
  else if (value && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    for (const v of Object.values(value)) collect(v, out);
  }
}

/**
 * Run `fn`, then dispose every tensor created inside it except those it returns (in a tensor, array or plain
 * object). Returned tensors move to the enclosing scope. Works with async functions too.
 */
export function tidy<T>(fn: () => T): T {
  const scope = new Set<Tensor>();
  engine.scopes.push(scope);
  let result: T;
  try {
    result = fn();
  } catch (e) {
    endScope(scope, undefined);
    throw e;
  }
  if (result instanceof Promise) {
    return result.then(
      (r) => {
        endScope(scope, r);
        return r;
      },
      (e) => {
        endScope(scope, undefined);
        throw e;
      },
    ) as T;
  }
  endScope(scope, result);
  return result;
}

function endScope(scope: Set<Tensor>, result: unknown): void {
  const idx = engine.scopes.lastIndexOf(scope);
  if (idx >= 0) engine.scopes.splice(idx, 1);
  const keepSet = new Set<Tensor>();
  collect(result, keepSet);
  const parent = engine.scopes[engine.scopes.length - 1];
  for (const t of scope) {
    if (keepSet.has(t)) parent?.add(t);
    else t.dispose();
  }
}

/**
 * Run a composite op (one built from other ops). Intermediates it creates are freed at once when autograd did not
 * record the result, and otherwise live exactly as long as the result (its gradient needs them).
 */
export function composite(fn: () => Tensor): Tensor {
  const scope = new Set<Tensor>();
  engine.scopes.push(scope);
  let out: Tensor;
  try {
    out = fn();
  } catch (e) {
    endScope(scope, undefined);
    throw e;
  }
  const idx = engine.scopes.lastIndexOf(scope);
  if (idx >= 0) engine.scopes.splice(idx, 1);
  const parent = engine.scopes[engine.scopes.length - 1];
  // intermediates of out's graph whose values no gradient reads: free their storage now (the peak is the
  // activations kept for backward), keep the tensors (graph nodes, shapes) until out goes
  const unread = out.gradNode ? unreadIntermediates(out, scope) : null;
  for (const t of scope) {
    if (t === out) parent?.add(t);
    else if (out.gradNode) {
      if (unread!.has(t)) t.releaseData();
      out.adopt(t);
    } else t.dispose();
  }
  return out;
}

/** Members of `scope` reachable from `out` through recorded inputs whose values no recorded gradient reads. */
function unreadIntermediates(out: Tensor, scope: Set<Tensor>): Set<Tensor> {
  const found = new Set<Tensor>();
  const seen = new Set<Tensor>([out]);
  const stack: Tensor[] = [out];
  while (stack.length) {
    const t = stack.pop()!;
    for (const i of t.gradNode?.inputs ?? []) {
      if (seen.has(i) || !scope.has(i)) continue;
      seen.add(i);
      if (!i.savedForGrad && !i.requiresGrad) found.add(i);
      stack.push(i);
    }
  }
  return found;
}

/** Exempt `t` from disposal by the enclosing scopes (parameters, optimizer state, gradients). */
export function keep<T extends Tensor>(t: T): T {
  for (const s of engine.scopes) s.delete(t);
  return t;
}

/** Dispose every tensor in a tensor, array or plain object. */
export function dispose(value: TensorContainer): void {
  const all = new Set<Tensor>();
  collect(value, all);
  for (const t of all) t.dispose();
}
