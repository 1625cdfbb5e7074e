/* crmkit web pages: the little behaviour they need, as an external file
   (the Content-Security-Policy allows no inline script). */
(function () {
  "use strict";
  var csrf = function () { return document.body.getAttribute("data-csrf") || ""; };

  function post(url, data) {
    var body = new URLSearchParams(data || {});
    body.set("csrf_token", csrf());
    return fetch(url, { method: "POST", body: body, credentials: "same-origin",
                        headers: { "Accept": "application/json", "X-CSRF-Token": csrf() } })
      .then(function (r) { return r.json().then(function (j) { j.status = r.status; return j; }); });
  }

  /* The pipeline board: dropping a card on a column runs the same action
     as the card's buttons (deals.move / deals.win / deals.lose); a refusal
     puts the card back and says why. */
  function board(root) {
    var message = document.getElementById("board-message");
    root.querySelectorAll("ul.cards").forEach(function (list) {
      new Sortable(list, {
        group: "deals", animation: 120, forceFallback: true, fallbackTolerance: 3,
        onEnd: function (ev) {
          if (ev.from === ev.to) { return; }
          var card = ev.item, column = ev.to.closest(".column");
          var url = card.getAttribute("data-act-base") + column.getAttribute("data-action");
          var data = {};
          if (column.getAttribute("data-stage")) { data.stage = column.getAttribute("data-stage"); }
          if (column.getAttribute("data-param")) {
            var answer = window.prompt(column.getAttribute("data-prompt") || "");
            if (answer === null || answer === "") { ev.from.insertBefore(card, ev.from.children[ev.oldIndex] || null); return; }
            data[column.getAttribute("data-param")] = answer;
          }
          card.classList.remove("refused");
          post(url, data).then(function (res) {
            if (res.ok) {
              message.textContent = card.getAttribute("data-title") + " → " + column.getAttribute("data-title");
              recount(root);
              card.setAttribute("data-moved", column.getAttribute("data-key"));
            } else {
              ev.from.insertBefore(card, ev.from.children[ev.oldIndex] || null);
              card.classList.add("refused");
              var parts = [];
              Object.keys(res.errors || {}).forEach(function (k) { parts.push((k === "_" ? "" : k + ": ") + res.errors[k].join("; ")); });
              message.textContent = parts.join(" · ");
              recount(root);
            }
          }).catch(function () { ev.from.insertBefore(card, ev.from.children[ev.oldIndex] || null); });
        }
      });
    });
  }
  function recount(root) {
    root.querySelectorAll(".column").forEach(function (c) {
      var n = c.querySelector(".count"); if (n) { n.textContent = c.querySelectorAll(".deal").length; }
    });
  }

  /* Live preview of a template: the text is rendered by the server in its
     sandbox and shown in a sandboxed frame (no scripts run in it). */
  function preview(form) {
    var frame = document.getElementById(form.getAttribute("data-preview-target"));
    var timer = null;
    var run = function () {
      var data = new FormData(form); var body = new URLSearchParams();
      data.forEach(function (v, k) { body.append(k, v); });
      fetch(form.getAttribute("data-preview-url"), { method: "POST", body: body, credentials: "same-origin",
              headers: { "X-CSRF-Token": csrf() } })
        .then(function (r) { return r.text(); }).then(function (html) { frame.srcdoc = html; });
    };
    form.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(run, 300); });
    run();
  }

  document.addEventListener("DOMContentLoaded", function () {
    var b = document.querySelector(".board[data-board]");
    if (b && window.Sortable) { board(b); }
    document.querySelectorAll("form[data-preview-url]").forEach(preview);
    document.querySelectorAll("form[data-confirm]").forEach(function (f) {
      f.addEventListener("submit", function (e) { if (!window.confirm(f.getAttribute("data-confirm"))) { e.preventDefault(); } });
    });
  });
})();
