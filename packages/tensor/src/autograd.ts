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

/** Register the gradient of op `name` (one per op, TF.js-style). */
export function registerGradient<A>(name: string, fn: GradFn<A>): void {
  if (gradientRegistry.has(name)) throw new GradError(`a gradient for '${name}' is already registered`);
  gradientRegistry.set(name, fn as GradFn<unknown>);
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
      for (const input of node.inputs) {
        if (input.isDisposed && input.tracksGrad) {
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
  for (const t of scope) {
    if (t === out) parent?.add(t);
    else if (out.gradNode) out.adopt(t);
    else t.dispose();
  }
  return out;
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
