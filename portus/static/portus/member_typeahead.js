/* Suggests user names (not yet members) in the add-member field as one types. */
(function () {
  "use strict";
  var form = document.querySelector("form[data-typeahead]");
  if (!form || !window.fetch) { return; }
  var input = form.querySelector("input[list]");
  var list = document.getElementById(input.getAttribute("list"));
  var timer = null;
  var asked = "";
  input.addEventListener("input", function () {
    var query = input.value.trim().toLowerCase();
    window.clearTimeout(timer);
    if (!query || query === asked) { return; }
    timer = window.setTimeout(function () {
      asked = query;
      fetch(form.getAttribute("data-typeahead") + "?q=" + encodeURIComponent(query),
            {headers: {"Accept": "application/json"}, credentials: "same-origin"})
        .then(function (response) { return response.ok ? response.json() : {usernames: []}; })
        .then(function (data) {
          if (query !== asked) { return; }
          list.replaceChildren.apply(list, data.usernames.map(function (name) {
            var option = document.createElement("option");
            option.value = name;
            return option;
          }));
        })
        .catch(function () { /* no suggestions; typing the name still works */ });
    }, 150);
  });
})();
