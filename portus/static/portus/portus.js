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

  document.addEventListener("DOMContentLoaded", function () {
    applyTheme(storedTheme());
  });
})();
