/* Live updates of the ticket lists (our own static file, like shortcuts.js and faq_picker.js: the CSP
 * allows no other script).
 * Everything works without it; it only tells an expert, on an open ticket list, that new tickets came in
 * and keeps the counts fresh, by asking counts.json every few seconds. */
(function () {
  "use strict";
  var live = document.getElementById("live");
  if (!live || !window.fetch) { return; }
  var url = live.getAttribute("data-poll-url");
  var since = live.getAttribute("data-since") || "0";
  var seconds = Math.max(1, parseInt(live.getAttribute("data-poll-seconds"), 10) || 15);

  function show(count) {
    live.textContent = "";
    var text = count === 1 ? "1 new ticket — " : count + " new tickets — ";
    live.appendChild(document.createTextNode(text));
    var link = document.createElement("a");
    link.href = window.location.href;
    link.textContent = "reload";
    link.id = "live-reload";
    live.appendChild(link);
    live.hidden = false;
  }

  function update(data) {
    ["mine", "unassigned", "urgent"].forEach(function (name) {
      var cell = document.querySelector('[data-count="' + name + '"]');
      if (cell && typeof data[name] === "number") { cell.textContent = String(data[name]); }
    });
    if (data["new"] > 0) { show(data["new"]); }
  }

  function poll() {
    if (document.hidden) { return; }  // a background tab does not need to ask
    fetch(url + "?since=" + encodeURIComponent(since), {credentials: "same-origin",
                                                       headers: {"Accept": "application/json"}})
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) { if (data) { update(data); } })
      .catch(function () { /* offline for a moment: the next round tries again */ });
  }

  window.setInterval(poll, seconds * 1000);
}());
