/* The FAQ picker on the ticket page's "Propose as an FAQ" form: the "Improves FAQ" field becomes an ARIA
 * combobox (https://www.w3.org/WAI/ARIA/apg/patterns/combobox/, list autocomplete). Typing asks
 * /console/faq/search.json (the knowledge-base search the page already shows) and lists the FAQs with how
 * well each fits; arrow keys move, Enter picks (the field gets the FAQ's id), Escape closes the list.
 * Without this script the field is a plain id field; the server checks the id either way. */
(function () {
  "use strict";
  var box = document.querySelector(".faq-picker");
  if (!box || !window.fetch) { return; }
  var input = document.getElementById("improve-faq-id");
  var list = document.getElementById("faq-picker-list");
  var note = document.getElementById("faq-picker-note");
  var status = document.getElementById("faq-picker-status");
  var url = box.getAttribute("data-search-url");
  var active = -1;
  var timer = null;
  var asked = 0;  // answers can arrive out of order: only the latest question's answer is shown

  input.setAttribute("role", "combobox");
  input.setAttribute("aria-autocomplete", "list");
  input.setAttribute("aria-expanded", "false");
  input.setAttribute("aria-controls", list.id);

  function options() { return list.querySelectorAll("[role=option]"); }

  function close() {
    list.hidden = true;
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
    active = -1;
  }

  function highlight(index) {
    var all = options();
    if (!all.length) { return; }
    active = (index + all.length) % all.length;
    for (var i = 0; i < all.length; i++) {
      all[i].setAttribute("aria-selected", i === active ? "true" : "false");
    }
    input.setAttribute("aria-activedescendant", all[active].id);
    all[active].scrollIntoView({block: "nearest"});
  }

  function pick(option) {
    input.value = option.getAttribute("data-faq-id");
    close();
    note.hidden = true;
    status.textContent = "Improves FAQ " + input.value + ".";
  }

  function option(hit, index) {
    var item = document.createElement("li");
    item.id = "faq-picker-option-" + index;
    item.setAttribute("role", "option");
    item.setAttribute("aria-selected", "false");
    item.setAttribute("data-faq-id", hit.id);
    var id = document.createElement("strong");
    id.textContent = hit.id;
    var title = document.createElement("span");
    title.setAttribute("dir", "auto");
    title.textContent = " " + hit.title + " ";
    var fit = document.createElement("span");
    fit.className = "relevance";
    fit.textContent = hit.relevance;
    item.appendChild(id);
    item.appendChild(title);
    item.appendChild(fit);
    // mousedown, not click: the field keeps its focus (and the list does not close before the pick).
    item.addEventListener("mousedown", function (event) { event.preventDefault(); pick(item); });
    return item;
  }

  function show(data) {
    list.textContent = "";
    data.results.forEach(function (hit, index) { list.appendChild(option(hit, index)); });
    var count = data.results.length;
    note.textContent = data.good_match ? "" : (count ? "No good match: the nearest FAQs are listed."
                                                     : "No good match: no FAQ is close.");
    note.hidden = data.good_match;
    status.textContent = data.results.length + (data.results.length === 1 ? " FAQ" : " FAQs") + " found" +
                         (data.good_match ? "." : ", no good match.");
    active = -1;
    input.removeAttribute("aria-activedescendant");
    list.hidden = !data.results.length;
    input.setAttribute("aria-expanded", data.results.length ? "true" : "false");
  }

  function search() {
    var text = input.value.trim();
    if (!text) { close(); note.hidden = true; return; }
    var mine = ++asked;
    fetch(url + "?q=" + encodeURIComponent(text), {credentials: "same-origin",
                                                    headers: {"Accept": "application/json"}})
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) { if (data && mine === asked) { show(data); } })
      .catch(function () { /* offline for a moment: the plain field still works */ });
  }

  input.addEventListener("input", function () {
    window.clearTimeout(timer);
    timer = window.setTimeout(search, 200);
  });

  input.addEventListener("keydown", function (event) {
    var open = !list.hidden;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      if (!open) {
        if (!options().length) { search(); return; }
        list.hidden = false;
        input.setAttribute("aria-expanded", "true");
      }
      highlight(active < 0 && event.key === "ArrowUp" ? -1 : active + (event.key === "ArrowDown" ? 1 : -1));
    } else if (event.key === "Enter" && open && active >= 0) {
      event.preventDefault();  // picking is not sending the form
      pick(options()[active]);
    } else if (event.key === "Escape" && open) {
      event.preventDefault();  // the first Escape closes the list; the next one leaves the field
      close();
    }
  });

  input.addEventListener("blur", function () { window.setTimeout(close, 0); });
}());
