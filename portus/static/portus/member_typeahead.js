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
    var query = input.value.trim();
    window.clearTimeout(timer);
    if (!query || query === asked) { return; }
    timer = window.setTimeout(function () {
      asked = query;
      fetch(form.getAttribute("data-typeahead") + "?q=" + encodeURIComponent(query),
            {headers: {"Accept": "application/json"}, credentials: "same-origin"})
        .then(function (response) { return response.ok ? response.json() : {usernames: []}; })
        .then(function (data) {
          if (query !== asked) { return; }
          list.replaceChildren.apply(list, (data.users || []).map(function (user) {
            var option = document.createElement("option");
            option.value = user.username;
            // The browser matches what is typed against the label too: a display name finds its user.
            if (user.display_name) { option.label = user.display_name; }
            return option;
          }));
        })
        .catch(function () { /* no suggestions; typing the name still works */ });
    }, 150);
  });
})();
