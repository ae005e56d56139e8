/** The offline cache the service worker (public/sw.js) answers from when the network is gone. */
export const OFFLINE_CACHE = 'peftjs-playground-v1';

/**
 * Store `urls` in the offline cache now. Files fetched before the service worker took control of the page (the
 * first visit's code, weights and corpora) went past it, so the page and the worker put them there themselves.
 */
export async function keepOffline(urls: (string | URL)[]): Promise<void> {
  if (typeof caches === 'undefined') return;
  const cache = await caches.open(OFFLINE_CACHE);
  await Promise.all(
    urls.map(async (u) => {
      if (!(await cache.match(u, { ignoreVary: true }))) await cache.add(u);
    }),
  );
}
