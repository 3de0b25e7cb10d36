// Dialog: a native <dialog> (focus trap, Esc to close, focus returns to the opener) used for
// confirmations, one-off forms and showing a secret once.
import { h } from "../lib/dom.js";

/** openDialog({title, body: node, actions?}) → {close, element}; resolves `closed` on close. */
export function openDialog({ title, body, wide = false }) {
  const opener = document.activeElement;
  const heading = h("h2", { id: `dlg-${Date.now()}` }, title);
  const closeButton = h("button", { type: "button", class: "link close", "aria-label": "Close" }, "×");
  const dialog = h("dialog", { class: wide ? "wide" : "", "aria-labelledby": heading.id },
    h("header", {}, heading, closeButton), body);
  let done;
  const closed = new Promise((resolve) => { done = resolve; });
  const close = (value) => { if (dialog.open) dialog.close(); dialog.remove(); opener?.focus?.(); done(value); };
  closeButton.addEventListener("click", () => close(undefined));
  dialog.addEventListener("cancel", (e) => { e.preventDefault(); close(undefined); });
  document.body.append(dialog);
  dialog.showModal();
  return { element: dialog, close, closed };
}

/** Ask yes/no; resolves true when confirmed. */
export function confirmDialog(title, message, confirmLabel = "Confirm") {
  const yes = h("button", { type: "button", class: "danger" }, confirmLabel);
  const no = h("button", { type: "button", class: "secondary" }, "Cancel");
  const d = openDialog({ title, body: h("div", {}, h("p", {}, message), h("div", { class: "actions" }, yes, no)) });
  yes.addEventListener("click", () => d.close(true));
  no.addEventListener("click", () => d.close(false));
  yes.focus();
  return d.closed.then(Boolean);
}
