// Live updates: poll a cheap token every 2 s; when it changed, fetch this page again and swap its
// content region. Without JavaScript the pages are plain links and forms.
(function () {
  "use strict";
  var body = document.body;
  var changes = body.getAttribute("data-changes");
  var live = document.getElementById("live");
  var busy = false;

  function token() {
    var content = document.getElementById("content");
    return (content && content.getAttribute("data-token")) || body.getAttribute("data-token") || "";
  }

  function editing() {
    var el = document.activeElement;
    if (!el || !document.getElementById("content").contains(el)) return false;
    return el.tagName === "INPUT" || el.tagName === "SELECT" || el.tagName === "TEXTAREA";
  }

  function reload() {
    return fetch(window.location.href, { credentials: "same-origin", headers: { "X-Requested-With": "live" } })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (!html) return;
        var doc = new DOMParser().parseFromString(html, "text/html");
        var fresh = doc.getElementById("content");
        var clock = doc.getElementById("clock-now");
        if (!fresh) return;
        var notice = fresh.querySelector("#notice");
        if (notice) notice.remove(); // a form's message belongs to the load that followed the form
        document.getElementById("content").replaceWith(document.adoptNode(fresh));
        if (clock) document.getElementById("clock-now").textContent = clock.textContent;
      });
  }

  function poll() {
    if (busy || document.hidden || editing()) return;
    busy = true;
    fetch(changes + "?since=" + encodeURIComponent(token()), { cache: "no-store" })
      .then(function (r) { return r.json(); })
      .then(function (data) {
        if (live) live.className = "live on";
        if (data.changed) return reload();
      })
      .catch(function () { if (live) live.className = "live"; })
      .then(function () { busy = false; }, function () { busy = false; });
  }

  window.setInterval(poll, 2000);
})();
