// postpost dashboard: small progressive enhancements shared by every page (no dependencies).
"use strict";

// <button data-copy="#id">: copy the text of the element #id to the clipboard.
document.addEventListener("click", async (event) => {
  const button = event.target.closest("[data-copy]");
  if (!button) return;
  const source = document.querySelector(button.dataset.copy);
  if (!source) return;
  const text = source.value !== undefined ? source.value : source.textContent.trim();
  try {
    await navigator.clipboard.writeText(text);
    button.textContent = "Copied";
  } catch (_error) {
    const range = document.createRange();
    range.selectNodeContents(source);
    window.getSelection().removeAllRanges();
    window.getSelection().addRange(range);
    button.textContent = "Selected: press Ctrl+C";
  }
});

// <form data-confirm="Question?">: ask before submitting.
document.addEventListener("submit", (event) => {
  const question = event.target.dataset ? event.target.dataset.confirm : undefined;
  if (question && !window.confirm(question)) event.preventDefault();
});

// The CSRF token of this page, for scripts that send JSON (header X-CSRF-Token).
window.postpostCsrfToken = () => {
  const meta = document.querySelector("meta[name=csrf-token]");
  return meta ? meta.content : "";
};
