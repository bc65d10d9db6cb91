// Live dashboards (crates/insights): the page works without this script; with it, the figures
// follow events. It opens the server-sent event stream named by the page's `data-live-src`,
// and on each `figures` event swaps in the sections the server rendered again, then says when
// in the page's status region (announced by screen readers). No framework, nothing fetched
// from elsewhere; the browser's EventSource reconnects by itself after a drop.
(function () {
  "use strict";
  var root = document.querySelector("[data-live-src]");
  var status = document.getElementById("dash-live-status");
  if (!root || !status || typeof window.EventSource !== "function") {
    return;
  }
  var source = new EventSource(root.getAttribute("data-live-src"));
  source.addEventListener("ready", function () {
    status.textContent = "Live: figures update as events arrive.";
  });
  source.addEventListener("figures", function (e) {
    var data;
    try {
      data = JSON.parse(e.data);
    } catch (_) {
      return;
    }
    Object.keys(data.sections || {}).forEach(function (id) {
      var el = document.getElementById(id);
      if (el) {
        el.innerHTML = data.sections[id];
      }
    });
    status.textContent = "Live: updated at " + data.at + ".";
  });
  source.addEventListener("unavailable", function () {
    status.textContent = "Live updates paused: the figures cannot be read just now.";
  });
  source.onerror = function () {
    status.textContent = "Live updates interrupted; reconnecting. Reload the page for the latest figures.";
  };
})();
