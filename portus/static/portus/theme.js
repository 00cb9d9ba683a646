/* Sets the colour theme before the page paints (loaded synchronously in <head>): the choice kept in
   localStorage ("light" / "dark"), otherwise the system's preference. */
(function () {
  "use strict";
  var choice = null;
  try {
    choice = window.localStorage.getItem("portus-theme");
  } catch (e) {
    /* storage blocked: follow the system */
  }
  if (choice !== "light" && choice !== "dark") {
    choice = "auto";
  }
  var dark = choice === "dark" ||
    (choice === "auto" && window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches);
  document.documentElement.setAttribute("data-bs-theme", dark ? "dark" : "light");
  document.documentElement.setAttribute("data-portus-theme", choice);
})();
