// kmm: small progressive enhancements; every page works without this file.
"use strict";

document.addEventListener("click", (event) => {
  const dismiss = event.target.closest("[data-dismiss]");
  if (dismiss) dismiss.closest(".toast")?.remove();
});
