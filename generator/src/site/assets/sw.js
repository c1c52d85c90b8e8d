// Constancia's service worker: opens the site's forms without a network.
// The generator writes it to the site root as sw.js, replacing the build id
// and the list of every page and asset (paths relative to the site root).
// Pages: network first, the cache when offline. Hashed assets: cache first.
// Only GET requests for those files are answered here; submissions and the
// collector's own pages always go to the network.
const BUILD = "__CONSTANCIA_BUILD__"
const FILES = ["__CONSTANCIA_PRECACHE__"]
const CACHE = 'constancia-' + BUILD
const ROOT = new URL('./', self.location).href
// A page is cached under its own URL and, for index.html, its folder's too.
const keys = file => {
  const url = new URL(file, ROOT).href
  return url.endsWith('/index.html') ? [url, url.slice(0, -10)] : [url]
}
const KNOWN = new Set(FILES.flatMap(keys))

self.addEventListener('install', event => {
  event.waitUntil((async () => {
    const cache = await caches.open(CACHE)
    // A file that fails to download is left out rather than failing the
    // whole build's cache; it is then served from the network only.
    await Promise.allSettled(FILES.map(async file => {
      const response = await fetch(new URL(file, ROOT), { cache: 'reload' })
      if (response.ok) await Promise.all(keys(file).map(key => cache.put(key, response.clone())))
    }))
    await self.skipWaiting()
  })())
})

self.addEventListener('activate', event => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) if (name.startsWith('constancia-') && name != CACHE) await caches.delete(name)
    await self.clients.claim()
  })())
})

self.addEventListener('fetch', event => {
  const request = event.request, url = new URL(request.url)
  url.search = url.hash = ''
  if (request.method != 'GET' || !KNOWN.has(url.href)) return
  const cached = () => caches.open(CACHE).then(cache => cache.match(url.href))
  if (url.href.startsWith(ROOT + 'assets/')) {
    // Hashed names never change content: the cache, else the network.
    event.respondWith(cached().then(hit => hit || fetch(request)))
  } else {
    // Pages and manifests: the network, unless it fails or takes over four
    // seconds and the cache has them.
    event.respondWith((async () => {
      const network = fetch(request)
      const first = await Promise.race([network.then(r => r.ok && r, () => null), new Promise(r => setTimeout(r, 4000))])
      return first || await cached() || network
    })())
  }
})
