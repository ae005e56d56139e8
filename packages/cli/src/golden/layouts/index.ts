import type { GoldenLayout } from '../case.js';
import { adaLoraTrajectoryLayout } from './adalora.js';
import { peftAdapterLayout } from './adapter.js';
import { qloraLayout, quantBlockLayout } from './quant.js';
import { bottleneckLayout } from './bottleneck.js';
import { trajectoryLayout } from './trajectory.js';

/**
 * Every case layout the runner knows, tried in order: the first whose `detect` accepts a case runs it. Layouts
 * of ../shared/golden/README.md; a case no layout accepts fails with the list of what it holds.
 */
export const GOLDEN_LAYOUTS: readonly GoldenLayout[] = [
  quantBlockLayout,
  qloraLayout,
  adaLoraTrajectoryLayout,
  trajectoryLayout,
  bottleneckLayout,
  peftAdapterLayout,
];
