// Small progressive enhancements; every page works without this file.
document.addEventListener("DOMContentLoaded", function () {
  // After a failed form submission, focus the error summary so screen-reader users hear it.
  var summary = document.getElementById("error-summary") || document.getElementById("duplicates");
  if (summary) { summary.focus(); }

  // "/" jumps to the global search (unless the user is typing somewhere).
  var search = document.querySelector("[data-shortcut='/']");
  document.addEventListener("keydown", function (e) {
    if (!search || e.key !== "/" || e.ctrlKey || e.metaKey || e.altKey) { return; }
    var t = e.target;
    var typing = t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName));
    if (!typing) { e.preventDefault(); search.focus(); search.select(); }
  });

  // Forms marked data-confirm ask first, in a native modal dialog (focus trapped, Esc cancels).
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (e) {
      if (form.dataset.confirmed === "yes") { return; }
      e.preventDefault();
      var dialog = document.createElement("dialog");
      dialog.className = "confirm-dialog";
      dialog.setAttribute("aria-labelledby", "confirm-question");
      var article = document.createElement("article");
      var p = document.createElement("p");
      p.id = "confirm-question";
      p.textContent = form.dataset.confirm;
      var footer = document.createElement("footer");
      var cancel = document.createElement("button");
      cancel.type = "button"; cancel.className = "secondary"; cancel.textContent = "Cancel";
      var ok = document.createElement("button");
      ok.type = "button"; ok.textContent = form.querySelector("button[type=submit]").textContent;
      footer.append(cancel, ok);
      article.append(p, footer);
      dialog.append(article);
      document.body.append(dialog);
      cancel.addEventListener("click", function () { dialog.close(); });
      dialog.addEventListener("close", function () { dialog.remove(); });
      ok.addEventListener("click", function () { form.dataset.confirmed = "yes"; dialog.close(); form.submit(); });
      dialog.showModal();
      cancel.focus();
    });
  });
});
