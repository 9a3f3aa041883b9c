/* Keyboard shortcuts on the console's ticket pages (the list of them: templates/console_shortcuts_list.html).
 * Lists: "/" search, "j"/"k" next/previous ticket, Enter opens it. A ticket: "r" the reply, "n" a note.
 * Everywhere: "?" this help, Esc leaves a field. Never while typing in a field or with Ctrl/Alt/Meta held,
 * so a letter typed into an answer stays a letter. */
(function () {
  "use strict";
  var help = document.getElementById("shortcuts-help");
  var link = document.getElementById("shortcuts-link");
  if (!help || typeof help.showModal !== "function") { return; }  // the link still opens the page
  var rows = Array.prototype.slice.call(document.querySelectorAll("tr.ticket-row"));
  var selected = -1;
  var opener = null;  // where focus goes back to when the help closes

  function typing(element) {
    if (!element || element === document.body) { return false; }
    var tag = element.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || element.isContentEditable;
  }

  function openHelp() {
    if (!help.open) { opener = document.activeElement; help.showModal(); }
    document.getElementById("shortcuts-close").focus();
  }

  function select(index) {
    if (!rows.length) { return; }
    if (selected >= 0) { rows[selected].classList.remove("selected"); }
    selected = Math.max(0, Math.min(rows.length - 1, index));
    var row = rows[selected];
    row.classList.add("selected");
    var target = row.querySelector("a.ticket-link");
    if (target) { target.focus(); }  // the link's focus outline shows where we are; Enter follows it
    row.scrollIntoView({block: "nearest"});
  }

  function focusField(name) {
    var field = document.querySelector('[data-shortcut="' + name + '"]');
    if (!field) { return false; }
    field.focus();
    field.scrollIntoView({block: "center"});
    return true;
  }

  // Picking a row by Tab or a click counts as the selection for j/k too.
  rows.forEach(function (row, index) {
    row.addEventListener("focusin", function () {
      if (selected >= 0 && selected !== index) { rows[selected].classList.remove("selected"); }
      selected = index;
      row.classList.add("selected");
    });
  });

  var keys = {
    "/": function () {
      if (!focusField("search")) { window.location.href = help.getAttribute("data-find-url") + "#filters"; }
    },
    "j": function () { select(selected + 1); },
    "k": function () { select(selected < 0 ? 0 : selected - 1); },
    "Enter": function () {
      var target = selected >= 0 && rows[selected].querySelector("a.ticket-link");
      if (!target || document.activeElement === target) { return false; }  // a focused link opens itself
      target.click();
    },
    "r": function () { return focusField("reply"); },
    "n": function () { return focusField("note"); },
    "?": openHelp
  };

  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey || event.isComposing) {
      return;
    }
    var here = document.activeElement;
    if (typing(here)) {
      if (event.key === "Escape") { here.blur(); }
      return;
    }
    if (help.open || !Object.prototype.hasOwnProperty.call(keys, event.key)) { return; }
    if (event.key === "Enter" && here && here !== document.body && !here.closest("tr.ticket-row")) { return; }
    if (keys[event.key]() !== false) { event.preventDefault(); }
  });

  if (link) {
    link.addEventListener("click", function (event) { event.preventDefault(); openHelp(); });
  }
  document.getElementById("shortcuts-close").addEventListener("click", function () { help.close(); });
  // The close event comes a task after the dialog closed: a key pressed in between (a fast "j") may already
  // have moved the focus, and that focus stays where the key put it.
  help.addEventListener("close", function () {
    var here = document.activeElement;
    if (here && here !== document.body && !help.contains(here) && here !== opener) { return; }
    var back = opener && opener !== document.body ? opener : link;
    if (back) { back.focus(); }
  });

  // Arrived by "/" from a list without a search box: focus the search once the browser has finished with the
  // #filters fragment (its scroll to the fragment would otherwise take the focus back).
  if (window.location.hash === "#filters") {
    window.addEventListener("load", function () {
      window.setTimeout(function () { focusField("search"); }, 0);
    });
  }
}());
