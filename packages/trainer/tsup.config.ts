import { packageBuild } from '../../tsup.preset';

// Two entries: the browser-safe core and the Node layer (directory checkpoints, JSONL logs, terminal progress).
export default packageBuild({ index: 'src/index.ts', node: 'src/node.ts' });
