/*
 * Branchline service worker: keeps the app shell (this build's HTML, scripts and styles) in a
 * versioned cache so the app opens and reloads with no connection. Navigations go to the network
 * first and fall back to the cached shell; hashed assets come from the cache. GraphQL and /health
 * are never touched: the app's own offline queue handles data.
 */
const PRECACHE = self.__PRECACHE__;
const CACHE = `branchline-shell-${self.__VERSION__}`;

self.addEventListener('install', (event) => {
  event.waitUntil(
    caches
      .open(CACHE)
      .then((cache) => cache.addAll(PRECACHE))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) =>
        Promise.all(
          keys.filter((k) => k.startsWith('branchline-shell-') && k !== CACHE).map((k) => caches.delete(k)),
        ),
      )
      .then(() => self.clients.claim()),
  );
});

async function shell(request) {
  try {
    const response = await fetch(request);
    if (response.ok) return response;
    throw new Error(`HTTP ${response.status}`);
  } catch {
    const cached =
      (await caches.match('/', { cacheName: CACHE })) ||
      (await caches.match('/index.html', { cacheName: CACHE }));
    if (cached) return cached;
    return new Response('Branchline is offline and has not been opened on this device yet.', {
      status: 503,
      headers: { 'content-type': 'text/plain; charset=utf-8' },
    });
  }
}

async function asset(request) {
  const cached = await caches.match(request, { cacheName: CACHE });
  if (cached) return cached;
  const response = await fetch(request);
  if (response.ok && new URL(request.url).pathname.startsWith('/assets/')) {
    const copy = response.clone();
    caches.open(CACHE).then((cache) => cache.put(request, copy));
  }
  return response;
}

self.addEventListener('fetch', (event) => {
  const request = event.request;
  if (request.method !== 'GET') return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (url.pathname === '/graphql' || url.pathname.startsWith('/graphql/') || url.pathname === '/health')
    return;
  if (request.mode === 'navigate') {
    event.respondWith(shell(request));
    return;
  }
  event.respondWith(asset(request));
});
