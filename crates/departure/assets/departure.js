// Departure control: the boarding-pass box submits on Enter (what a barcode reader types after
// the code), and the crew's manifest pages are kept for offline use by the service worker
// (/departure/sw.js). When a page was served from that copy, a banner says so and from when.
(function () {
  "use strict";

  document.querySelectorAll("textarea[data-submit-on-enter]").forEach(function (box) {
    box.addEventListener("keydown", function (e) {
      if (e.key !== "Enter" || e.shiftKey || e.isComposing) { return; }
      e.preventDefault();
      if (box.value.trim() === "") { return; }
      if (box.form.requestSubmit) { box.form.requestSubmit(); } else { box.form.submit(); }
    });
  });

  var CACHE = "aloft-departure-v1";
  var offline = document.querySelector("[data-offline-page]");
  var crewPage = /^\/departure\/roster(\/|$)/.test(location.pathname);

  var fromCache = offline && offline.dataset.source === "cache";
  if ("serviceWorker" in navigator && crewPage && !fromCache) {
    navigator.serviceWorker.register("/departure/sw.js", { scope: "/departure/" }).catch(function () {});
    // The first visit is not yet under the worker's control: keep this page's copy now.
    if (!navigator.serviceWorker.controller && offline && offline.dataset.source === "network" && window.caches) {
      caches.open(CACHE).then(function (cache) {
        return cache.add(location.pathname);
      }).catch(function () {});
    }
  }

  // The roster, read online, says which manifests are still open: forget the copies of the
  // others (flights flown, taken off the roster) so passenger data does not linger on the device.
  var roster = document.getElementById("roster");
  if (location.pathname === "/departure/roster" && window.caches) {
    var open = {};
    (roster || document).querySelectorAll("a[href^='/departure/roster/']").forEach(function (a) {
      open[a.getAttribute("href")] = true;
    });
    caches.open(CACHE).then(function (cache) {
      return cache.keys().then(function (keys) {
        return Promise.all(keys.filter(function (req) {
          var path = new URL(req.url).pathname;
          return path.indexOf("/departure/roster/") === 0 && !open[path];
        }).map(function (req) { return cache.delete(req); }));
      });
    }).catch(function () {});
  }

  if (offline && offline.dataset.source === "cache") {
    var banner = document.getElementById("offline-banner");
    var generated = new Date(offline.dataset.generated);
    if (banner && !isNaN(generated.getTime())) {
      var time = banner.querySelector("time");
      var hh = String(generated.getHours()).padStart(2, "0");
      var mm = String(generated.getMinutes()).padStart(2, "0");
      time.textContent = hh + ":" + mm;
      time.setAttribute("datetime", offline.dataset.generated);
      var minutes = Math.round((Date.now() - generated.getTime()) / 60000);
      if (minutes >= 1) {
        time.setAttribute("title", minutes + " min ago");
      }
      banner.hidden = false;
    }
  }
})();
