// Departure control's service worker (scope /departure/): keeps the cabin crew's roster and
// manifest pages, and the assets they need, for use without a network. Online, pages always
// come from the server (and the copy is refreshed); offline, the last copy is served, marked
// data-source="cache" so the page shows its "Offline copy from HH:MM — may be stale" banner.
// Nothing else under /departure/ is kept (the check-in console is always live).
"use strict";

var CACHE = "aloft-departure-v1";
var ASSETS = [
  "/assets/pico.min.css",
  "/assets/app.css",
  "/assets/htmx.min.js",
  "/assets/app.js",
  "/departure/departure.js"
];

self.addEventListener("install", function (event) {
  event.waitUntil(
    caches.open(CACHE).then(function (cache) { return cache.addAll(ASSETS); }).then(function () {
      return self.skipWaiting();
    })
  );
});

self.addEventListener("activate", function (event) {
  event.waitUntil(
    caches.keys().then(function (keys) {
      return Promise.all(keys.filter(function (k) {
        return k.indexOf("aloft-departure-") === 0 && k !== CACHE;
      }).map(function (k) { return caches.delete(k); }));
    }).then(function () { return self.clients.claim(); })
  );
});

function isCrewPage(url) {
  return url.origin === self.location.origin && /^\/departure\/roster(\/|$)/.test(url.pathname);
}

function isAsset(url) {
  return url.origin === self.location.origin && ASSETS.indexOf(url.pathname) !== -1;
}

// The cached page, marked as the offline copy.
function fromCache(request) {
  return caches.open(CACHE).then(function (cache) {
    return cache.match(request.url.split("#")[0], { ignoreSearch: true });
  }).then(function (cached) {
    if (!cached) { return Response.error(); }
    return cached.text().then(function (html) {
      var headers = new Headers(cached.headers);
      return new Response(html.replace('data-source="network"', 'data-source="cache"'), {
        status: 200,
        headers: headers
      });
    });
  });
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") { return; }
  var url = new URL(request.url);
  if (isCrewPage(url) && request.mode === "navigate") {
    event.respondWith(
      fetch(request).then(function (response) {
        var key = url.pathname;
        if (response.ok && response.type === "basic" && !response.redirected) {
          var copy = response.clone();
          caches.open(CACHE).then(function (cache) { return cache.put(key, copy); });
        } else if (response.status === 401 || response.status === 403 || response.status === 404 ||
                   response.type === "opaqueredirect" || response.redirected) {
          // Signed out, or no longer on the roster: forget the copy.
          caches.open(CACHE).then(function (cache) { return cache.delete(key); });
        }
        return response;
      }).catch(function () { return fromCache(request); })
    );
    return;
  }
  if (isAsset(url)) {
    event.respondWith(
      fetch(request).then(function (response) {
        if (response.ok) {
          var copy = response.clone();
          caches.open(CACHE).then(function (cache) { return cache.put(url.pathname, copy); });
        }
        return response;
      }).catch(function () {
        return caches.open(CACHE).then(function (cache) { return cache.match(url.pathname); })
          .then(function (cached) { return cached || Response.error(); });
      })
    );
  }
});
