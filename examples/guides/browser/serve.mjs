// Bundle main.ts for the browser with esbuild (what any bundler does), put the weights and the corpus beside it, and
// serve the folder on 127.0.0.1, cross-origin isolated.  usage: node examples/guides/browser/serve.mjs [--build-only] [port]
import { copyFile, mkdir, readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, 'dist');
const require = createRequire(import.meta.url);
await mkdir(out, { recursive: true });
await build({
  entryPoints: [join(here, 'main.ts')],
  outfile: join(out, 'main.js'),
  bundle: true,
  platform: 'browser',
  format: 'esm',
  target: 'es2022',
  minify: true,
  logLevel: 'warning',
});
await copyFile(join(here, 'index.html'), join(out, 'index.html'));
const tinyLlama = dirname(require.resolve('@peftjs/tiny-llama/package.json'));
await copyFile(join(tinyLlama, 'weights/model.safetensors'), join(out, 'model.safetensors'));
await copyFile(join(tinyLlama, 'dist/corpora/moby-dick.json'), join(out, 'moby-dick.json'));
if (process.argv.includes('--build-only')) process.exit(0);

const types = { '.html': 'text/html', '.js': 'text/javascript', '.json': 'application/json' };
createServer(async (req, res) => {
  const path = join(out, new URL(req.url, 'http://x').pathname.replace(/\/$/, '/index.html'));
  try {
    const body = await readFile(path);
    res.writeHead(200, {
      'Content-Type': types[extname(path)] ?? 'application/octet-stream',
      'Cross-Origin-Opener-Policy': 'same-origin',
      'Cross-Origin-Embedder-Policy': 'require-corp',
    });
    res.end(body);
  } catch {
    res.writeHead(404).end('not found');
  }
}).listen(Number(process.argv.find((a) => /^\d+$/.test(a)) ?? 4174), '127.0.0.1', function () {
  console.log(`browser guide example: http://127.0.0.1:${this.address().port}/`);
});
