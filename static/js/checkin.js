// The room page's bulk check-in: the name box filters the list of members not yet present as
// one types (without script, the box submits ?q= and the server filters). Ticked members stay
// ticked while hidden, so a search never drops a choice.
"use strict";
(function () {
  var box = document.querySelector("input[data-filter]");
  var list = box && document.getElementById(box.getAttribute("data-filter"));
  if (!list) { return; }
  var none = document.getElementById("checkin-none");
  function filter() {
    var q = box.value.trim().toLowerCase(), shown = 0;
    Array.prototype.forEach.call(list.querySelectorAll("li[data-name]"), function (li) {
      var hit = li.getAttribute("data-name").toLowerCase().indexOf(q) !== -1;
      li.hidden = !hit;
      if (hit) { shown += 1; }
    });
    if (none) { none.hidden = shown !== 0; }
  }
  box.addEventListener("input", filter);
  filter();
})();
