import cliProgress from 'cli-progress';
import type { ProgressSink } from './progress.js';

/**
 * A cli-progress bar on stderr: `step 12/100 [=====-----] loss 2.3456 | 1234 tok/s | ETA 1m05s`. `'auto'` shows it
 * only when stderr is a TTY; `true` forces it (e.g. to a file).
 */
export function createProgress(
  mode: boolean | 'auto',
  stream: NodeJS.WriteStream = process.stderr,
): ProgressSink | null {
  const on = mode === 'auto' ? Boolean(stream.isTTY) : mode;
  if (!on) return null;
  const bar = new cliProgress.SingleBar(
    {
      format: 'step {value}/{total} [{bar}] loss {loss} | {tps} tok/s | ETA {eta_formatted}',
      stream,
      noTTYOutput: !stream.isTTY,
      notTTYSchedule: 1000,
      hideCursor: stream.isTTY ? true : null,
      clearOnComplete: false,
      etaBuffer: 20,
      barsize: 24,
    },
    cliProgress.Presets.shades_classic,
  );
  return {
    start(total, start) {
      bar.start(total, start, { loss: '-', tps: '-' });
    },
    update(step, loss, tps) {
      bar.update(step, {
        loss: Number.isFinite(loss) ? loss.toFixed(4) : String(loss),
        tps: Math.round(tps).toLocaleString('en-US'),
      });
    },
    stop() {
      bar.stop();
    },
  };
}
