// The dashboard's only script (CSP allows no inline script). Without it every form still
// works; with it:
// - a form or button marked data-confirm asks before it is sent (money and stock actions);
// - a form's submit button is disabled once it is sent, so a double click posts it once;
// - a file input marked data-preview shows the chosen image before it is uploaded.
"use strict";
document.addEventListener("submit", function (event) {
  var form = event.target;
  var submitter = event.submitter;
  var question = (submitter && submitter.getAttribute("data-confirm")) ||
    form.getAttribute("data-confirm");
  if (question && !window.confirm(question)) {
    event.preventDefault();
    return;
  }
  if (form.method.toLowerCase() === "post") {
    var buttons = form.querySelectorAll("button[type=submit]");
    window.setTimeout(function () {
      buttons.forEach(function (button) { button.disabled = true; });
    }, 0);
  }
});
document.addEventListener("change", function (event) {
  var input = event.target;
  var target = input.getAttribute && input.getAttribute("data-preview");
  if (!target || !input.files || !input.files[0]) {
    return;
  }
  var image = document.getElementById(target);
  if (image) {
    image.src = URL.createObjectURL(input.files[0]);
    image.hidden = false;
  }
});
