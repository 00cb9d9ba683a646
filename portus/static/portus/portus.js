/* Small behaviours of the UI: theme switcher, copy-to-clipboard buttons, confirmations. */
(function () {
  "use strict";

  var THEME_KEY = "portus-theme";
  var media = window.matchMedia ? window.matchMedia("(prefers-color-scheme: dark)") : null;

  function storedTheme() {
    try {
      var value = window.localStorage.getItem(THEME_KEY);
      return value === "light" || value === "dark" ? value : "auto";
    } catch (e) {
      return "auto";
    }
  }

  function applyTheme(choice) {
    var dark = choice === "dark" || (choice === "auto" && media && media.matches);
    var root = document.documentElement;
    root.setAttribute("data-bs-theme", dark ? "dark" : "light");
    root.setAttribute("data-portus-theme", choice);
    document.querySelectorAll("[data-theme-choice]").forEach(function (button) {
      var active = button.getAttribute("data-theme-choice") === choice;
      button.classList.toggle("active", active);
      button.setAttribute("aria-pressed", active ? "true" : "false");
    });
  }

  function chooseTheme(choice) {
    try {
      if (choice === "auto") {
        window.localStorage.removeItem(THEME_KEY);
      } else {
        window.localStorage.setItem(THEME_KEY, choice);
      }
    } catch (e) {
      /* not remembered, still applied */
    }
    applyTheme(choice);
  }

  /* Copies text; navigator.clipboard needs a secure context, which a registry on plain http is not. */
  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text);
    }
    return new Promise(function (resolve, reject) {
      var area = document.createElement("textarea");
      area.value = text;
      area.setAttribute("readonly", "");
      area.style.position = "fixed";
      area.style.top = "-1000px";
      document.body.appendChild(area);
      area.select();
      var ok = false;
      try {
        ok = document.execCommand("copy");
      } catch (e) {
        ok = false;
      }
      document.body.removeChild(area);
      if (ok) {
        resolve();
      } else {
        reject(new Error("copy refused"));
      }
    });
  }

  function announce(message) {
    var region = document.getElementById("portus-live");
    if (region) {
      region.textContent = "";
      window.setTimeout(function () { region.textContent = message; }, 50);
    }
  }

  function onCopyClick(button) {
    var text = button.getAttribute("data-copy");
    var original = button.getAttribute("data-copy-label") || button.innerHTML;
    button.setAttribute("data-copy-label", original);
    copyText(text).then(function () {
      button.textContent = "Copied";
      button.classList.add("portus-copied");
      announce("Copied to the clipboard.");
    }, function () {
      button.textContent = "Press Ctrl+C";
      announce("Could not copy; select the text and copy it.");
    }).then(function () {
      window.setTimeout(function () {
        button.innerHTML = original;
        button.classList.remove("portus-copied");
      }, 1600);
    });
  }

  document.addEventListener("click", function (event) {
    var copy = event.target.closest("[data-copy]");
    if (copy) {
      event.preventDefault();
      onCopyClick(copy);
      return;
    }
    var theme = event.target.closest("[data-theme-choice]");
    if (theme) {
      event.preventDefault();
      chooseTheme(theme.getAttribute("data-theme-choice"));
    }
  });

  /* <form data-confirm="Disable olivia?"> asks before it is sent. */
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var submitter = event.submitter;
    var message = (submitter && submitter.getAttribute("data-confirm")) || form.getAttribute("data-confirm");
    if (message && !window.confirm(message)) {
      event.preventDefault();
    }
  });

  if (media) {
    var follow = function () {
      if (storedTheme() === "auto") {
        applyTheme("auto");
      }
    };
    if (media.addEventListener) {
      media.addEventListener("change", follow);
    } else if (media.addListener) {
      media.addListener(follow);
    }
  }

  /* Long names break only after a separator: a <wbr> after each / - . _ : @ of a long word (a user name,
     a repository path, an email), except in text kept on one line. Done here, once per page, so that
     every template gets it. */
  var LONG_WORD = /[^\s]{12,}/g;
  var SEPARATORS = /([\/\-._:@])(?=[^\s])/g;
  var SKIP = "script, style, textarea, title, svg, .portus-nowbr";

  function breakAfterSeparators(root) {
    var walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT, {
      acceptNode: function (node) {
        if (!node.nodeValue || node.nodeValue.length < 12 || !/[\/\-._:@]/.test(node.nodeValue)) {
          return NodeFilter.FILTER_REJECT;
        }
        var parent = node.parentElement;
        if (!parent || parent.closest(SKIP)) {
          return NodeFilter.FILTER_REJECT;
        }
        /* Chrome breaks at a <wbr> even in white-space: nowrap, which would undo an ellipsis. */
        var space = window.getComputedStyle(parent).whiteSpace;
        return space === "nowrap" || space === "pre" ? NodeFilter.FILTER_REJECT : NodeFilter.FILTER_ACCEPT;
      }
    });
    var nodes = [];
    for (var node = walker.nextNode(); node; node = walker.nextNode()) {
      nodes.push(node);
    }
    nodes.forEach(function (node) {
      var text = node.nodeValue;
      if (!LONG_WORD.test(text)) {
        return;
      }
      LONG_WORD.lastIndex = 0;
      var fragment = document.createDocumentFragment();
      var last = 0;
      text.replace(LONG_WORD, function (word, offset) {
        fragment.appendChild(document.createTextNode(text.slice(last, offset)));
        word.split(SEPARATORS).forEach(function (piece, index, pieces) {
          fragment.appendChild(document.createTextNode(piece));
          if (index % 2 === 1 && index < pieces.length - 1) {
            fragment.appendChild(document.createElement("wbr"));
          }
        });
        last = offset + word.length;
        return word;
      });
      fragment.appendChild(document.createTextNode(text.slice(last)));
      node.parentNode.replaceChild(fragment, node);
    });
  }

  /* A text cut with an ellipsis shows its whole self on hover. */
  function titleCutTexts() {
    document.querySelectorAll(".portus-truncate, .text-truncate, .portus-breadcrumbs .breadcrumb-item").forEach(function (el) {
      if (el.hasAttribute("title") && !el.hasAttribute("data-portus-title")) {
        return;
      }
      if (el.scrollWidth > el.clientWidth + 1) {
        el.setAttribute("title", el.textContent.replace(/\s+/g, " ").trim());
        el.setAttribute("data-portus-title", "");
      } else if (el.hasAttribute("data-portus-title")) {
        el.removeAttribute("title");
        el.removeAttribute("data-portus-title");
      }
    });
  }

  /* A table wider than its box: a cue above it, a faded edge where more is hidden, and focusable so that
     the arrow keys scroll it. */
  function markScrollBoxes() {
    document.querySelectorAll(".table-responsive").forEach(function (box) {
      var cue = box.previousElementSibling;
      if (!cue || !cue.classList.contains("portus-scroll-cue")) {
        cue = document.createElement("div");
        cue.className = "portus-scroll-cue";
        cue.setAttribute("aria-hidden", "true");
        cue.textContent = "Scroll sideways for more \u2192";
        box.parentNode.insertBefore(cue, box);
        box.addEventListener("scroll", function () { edges(box); }, {passive: true});
      }
      var scrolls = box.scrollWidth > box.clientWidth + 1;
      box.classList.toggle("portus-scrolls", scrolls);
      cue.classList.toggle("portus-shown", scrolls);
      if (scrolls) {
        var table = box.querySelector("table");
        var caption = table && table.querySelector("caption");
        box.setAttribute("tabindex", "0");
        box.setAttribute("role", "region");
        box.setAttribute("aria-label", ((caption && caption.textContent.trim()) || "Table") + ", scrolls sideways");
      } else if (box.getAttribute("role") === "region") {
        box.removeAttribute("tabindex");
        box.removeAttribute("role");
        box.removeAttribute("aria-label");
      }
      edges(box);
    });
  }

  /* Tables in a .table-responsive box become cards on a phone (portus.css): each cell learns its column's
     name, and the elements keep their table roles, which a browser drops from a table drawn as blocks. */
  function stackTables() {
    document.querySelectorAll(".table-responsive > table").forEach(function (table) {
      if (table.classList.contains("portus-stack") || table.classList.contains("portus-no-stack")) {
        return;
      }
      var headers = [];
      var head = table.tHead && table.tHead.rows[0];
      if (head) {
        Array.prototype.forEach.call(head.cells, function (cell) {
          var text = cell.textContent.replace(/\s+/g, " ").trim();
          for (var i = 0; i < (cell.colSpan || 1); i++) {
            headers.push(text);
          }
          cell.setAttribute("role", "columnheader");
        });
        head.setAttribute("role", "row");
        table.tHead.setAttribute("role", "rowgroup");
      }
      table.setAttribute("role", "table");
      Array.prototype.forEach.call(table.tBodies, function (body) {
        body.setAttribute("role", "rowgroup");
        Array.prototype.forEach.call(body.rows, function (row) {
          row.setAttribute("role", "row");
          var column = 0;
          Array.prototype.forEach.call(row.cells, function (cell) {
            cell.setAttribute("role", cell.tagName === "TH" ? "rowheader" : "cell");
            if (!cell.hasAttribute("data-label")) {
              cell.setAttribute("data-label", headers[column] || "");
            }
            column += cell.colSpan || 1;
          });
        });
      });
      table.classList.add("portus-stack");
    });
  }

  /* A <pre> too wide for its box scrolls: focusable, so that the keyboard scrolls it too. */
  function focusableScrollers() {
    document.querySelectorAll("pre").forEach(function (pre) {
      var scrolls = pre.scrollWidth > pre.clientWidth + 1 || pre.scrollHeight > pre.clientHeight + 1;
      if (scrolls && !pre.hasAttribute("tabindex")) {
        pre.setAttribute("tabindex", "0");
        pre.setAttribute("data-portus-tabindex", "");
      } else if (!scrolls && pre.hasAttribute("data-portus-tabindex")) {
        pre.removeAttribute("tabindex");
        pre.removeAttribute("data-portus-tabindex");
      }
    });
  }

  function edges(box) {
    var scrolls = box.classList.contains("portus-scrolls");
    var left = Math.abs(box.scrollLeft);
    box.classList.toggle("portus-more-right", scrolls && left + box.clientWidth < box.scrollWidth - 1);
    box.classList.toggle("portus-more-left", scrolls && left > 1);
  }

  function layout() {
    markScrollBoxes();
    focusableScrollers();
    titleCutTexts();
  }

  var resizing = null;
  window.addEventListener("resize", function () {
    window.clearTimeout(resizing);
    resizing = window.setTimeout(layout, 100);
  });

  document.addEventListener("DOMContentLoaded", function () {
    applyTheme(storedTheme());
    breakAfterSeparators(document.body);
    stackTables();
    layout();
  });
})();
