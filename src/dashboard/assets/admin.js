// The dashboard's only script (CSP allows no inline script): a form or button marked
// data-confirm asks before it is sent. Without the script every form still works.
"use strict";
document.addEventListener("submit", function (event) {
  var form = event.target;
  var submitter = event.submitter;
  var question = (submitter && submitter.getAttribute("data-confirm")) ||
    form.getAttribute("data-confirm");
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
});
