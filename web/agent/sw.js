// Mitan agent app service worker: the app shell works offline (cache first, refreshed in the
// background). The API is never cached or intercepted: visits and uploads go to the network,
// and the page's own queue (IndexedDB) holds what could not be sent.
const CACHE = 'mitan-agent-v5';
const SHELL = ['/agent/', '/agent/index.html', '/agent/app.js', '/agent/i18n.js', '/agent/style.css',
  '/agent/manifest.webmanifest', '/agent/icon.svg', '/common/dom.js'];

self.addEventListener('install', (e) => {
  e.waitUntil(caches.open(CACHE).then((c) => c.addAll(SHELL)).then(() => self.skipWaiting()));
});
self.addEventListener('activate', (e) => {
  e.waitUntil(caches.keys().then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k))))
    .then(() => self.clients.claim()));
});
self.addEventListener('fetch', (e) => {
  const url = new URL(e.request.url);
  if (e.request.method !== 'GET' || url.origin !== self.location.origin) return;
  if (!url.pathname.startsWith('/agent/') && !SHELL.includes(url.pathname)) return; // the shared /common/dom.js is part of the shell
  e.respondWith(caches.open(CACHE).then(async (c) => {
    const hit = await c.match(e.request, { ignoreSearch: true });
    const net = fetch(e.request).then((r) => { if (r.ok) c.put(e.request, r.clone()); return r; }).catch(() => null);
    return hit || (await net) || new Response('offline', { status: 503 });
  }));
});
