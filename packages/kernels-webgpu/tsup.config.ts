import { packageBuild } from '../../tsup.preset';

// Dawn for Node is loaded lazily (dynamic import) and only outside browsers.
export default packageBuild({ index: 'src/index.ts' }, { external: ['webgpu', '@peftjs/tensor'] });
