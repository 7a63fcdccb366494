// Forms with data-confirm ask before they submit (an inline onsubmit would need a CSP that allows inline script).
document.addEventListener("submit", (event) => {
  const message = event.target.dataset ? event.target.dataset.confirm : undefined;
  if (message && !window.confirm(message)) event.preventDefault();
});
