// `pnpm playground`: serve the built playground on 127.0.0.1 (cross-origin isolated) and print its URL.
import { fileURLToPath } from 'node:url';
import { preview } from 'vite';

const root = fileURLToPath(new URL('..', import.meta.url));
const port = Number(process.env.PORT ?? 4173);
const server = await preview({ root, logLevel: 'warn', preview: { host: '127.0.0.1', port, strictPort: false } });
const url = server.resolvedUrls?.local[0] ?? `http://127.0.0.1:${port}/`;
console.log(`peftjs playground: ${url}  (Ctrl+C stops it; the page works offline once loaded)`);
