/* The pilot's tile map: when the commune configures map tiles, replace the server-drawn
   blank map with a Leaflet map of the same tickets (read from the page's carte.json).
   Without JavaScript, Leaflet or the markers, the blank map stays: it works on its own. */
(function () {
  "use strict";

  function escapeHtml(text) {
    return String(text).replace(/[&<>"']/g, function (ch) {
      return {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[ch];
    });
  }

  function popup(marker, labels) {
    var box = document.createElement("div");
    var link = document.createElement("a");
    link.href = marker.url;
    link.textContent = labels.ticket + " " + marker.number;
    box.appendChild(link);
    [marker.service, marker.status_label, marker.overdue ? labels.overdue : ""].forEach(
      function (text) {
        if (!text) { return; }
        var line = document.createElement("div");
        line.textContent = text;
        box.appendChild(line);
      });
    return box;
  }

  function build(container, markers) {
    var data = container.dataset;
    var blank = document.getElementById("carte-neutre");
    container.hidden = false;
    var map = L.map(container, {scrollWheelZoom: false, zoomControl: false}).setView(
      [parseFloat(data.lat), parseFloat(data.lon)], parseInt(data.zoom, 10));
    L.control.zoom({zoomInTitle: data.labelZoomIn, zoomOutTitle: data.labelZoomOut})
      .addTo(map);
    map.on("popupopen", function (event) {  // Leaflet words this button in English
      var close = event.popup.getElement().querySelector(".leaflet-popup-close-button");
      if (close) { close.setAttribute("aria-label", data.labelClose); }
    });
    L.tileLayer(data.tileUrl, {
      maxZoom: 19,
      attribution: escapeHtml(data.attribution || ""),
    }).addTo(map);
    var labels = {ticket: data.labelTicket, overdue: data.labelOverdue};
    markers.forEach(function (marker) {
      var title = marker.number + (marker.overdue ? " — " + labels.overdue : "");
      L.marker([marker.lat, marker.lon], {title: title, alt: title, keyboard: true})
        .bindPopup(popup(marker, labels))
        .addTo(map);
    });
    if (blank) { blank.hidden = true; }
    container.dataset.state = "ready";
  }

  function start() {
    var container = document.getElementById("carte-tuiles");
    if (!container || typeof window.L === "undefined" || !window.fetch) { return; }
    fetch(container.dataset.markersUrl, {credentials: "same-origin",
                                         headers: {"Accept": "application/json"}})
      .then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.json();
      })
      .then(function (body) { build(container, body.markers); })
      .catch(function () {
        container.hidden = true;  // the blank map stays in place
        container.dataset.state = "failed";
      });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
