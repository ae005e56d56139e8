// The playground's offline cache: every same-origin GET the page makes (its code, the weights, the corpora) is
// stored as it is fetched; when the network fails, the stored copy answers. Network first, so a rebuilt page is
// picked up whenever the server is there.
// the same name as src/offline.ts's OFFLINE_CACHE
const CACHE = 'peftjs-playground-v1';
self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', (e) => e.waitUntil(self.clients.claim()));
self.addEventListener('fetch', (e) => {
  const req = e.request;
  if (req.method !== 'GET' || new URL(req.url).origin !== self.location.origin) return;
  e.respondWith(
    fetch(req)
      .then((res) => {
        if (res.ok) {
          const copy = res.clone();
          e.waitUntil(caches.open(CACHE).then((c) => c.put(req, copy)));
        }
        return res;
      })
      .catch(() => caches.match(req, { ignoreSearch: true, ignoreVary: true }).then((hit) => hit ?? Response.error())),
  );
});
