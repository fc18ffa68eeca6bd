// Collision warning: tell the server this agent has the ticket open, and show who else does.
(function () {
  "use strict";
  var banner = document.getElementById("consultation");
  if (!banner || !window.fetch) { return; }
  var REFRESH_MS = 60000;

  function show(names) {
    if (!names.length) { banner.hidden = true; return; }
    var pattern = names.length === 1 ? banner.dataset.one : banner.dataset.many;
    banner.textContent = pattern.replace("__", names.join(", "));
    banner.hidden = false;
  }

  function ping() {
    fetch(banner.dataset.url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRFToken": banner.dataset.csrf, "Accept": "application/json" }
    }).then(function (response) {
      return response.ok ? response.json() : null;
    }).then(function (data) {
      if (data && Array.isArray(data.viewers)) { show(data.viewers); }
    }).catch(function () { /* presence is a courtesy: never disturb the page */ });
  }

  ping();
  window.setInterval(ping, REFRESH_MS);
})();
