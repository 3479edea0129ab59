// The dashboard's only script: choosing a month, area or indicator shows it at once.
// (Without JavaScript the "Show" button does the same.)
document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
  select.addEventListener("change", function () { select.form.submit(); });
});
