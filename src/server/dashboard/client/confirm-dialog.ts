import { el, findElement } from './dom.js';

/** What a confirmation asks. */
export interface ConfirmRequest {
  /** The question, e.g. `Replay flow contacts?` */
  title: string;
  /** What will happen and to how many records, one paragraph each. */
  body: readonly string[];
  /** The confirming button's label, naming the action (`Replay 500 records`). */
  confirmLabel: string;
  /** Styles the confirming button as destructive. @default true */
  danger?: boolean;
}

/** Asks the operator before an action; resolves true only when they confirm. */
export type Confirm = (request: ConfirmRequest) => Promise<boolean>;

/**
 * A {@link Confirm} on the page's `<dialog id="confirm">` (a modal the browser keeps focus in;
 * Escape cancels). Cancel is focused first, so Enter alone never confirms a destructive action.
 */
export function createConfirm(): Confirm {
  const dialog = findElement('#confirm', HTMLDialogElement);
  const title = findElement('#confirm-title', HTMLElement, dialog);
  const body = findElement('#confirm-body', HTMLElement, dialog);
  const ok = findElement('#confirm-ok', HTMLButtonElement, dialog);
  const cancel = findElement('#confirm-cancel', HTMLButtonElement, dialog);
  let settle: ((confirmed: boolean) => void) | null = null;

  const finish = (confirmed: boolean): void => {
    const done = settle;
    settle = null;
    if (dialog.open) dialog.close();
    done?.(confirmed);
  };
  ok.addEventListener('click', () => finish(true));
  cancel.addEventListener('click', () => finish(false));
  // Escape, or the dialog closed any other way.
  dialog.addEventListener('close', () => finish(false));

  return (request) => {
    finish(false);
    title.textContent = request.title;
    body.replaceChildren(...request.body.map((text) => el('p', { text })));
    ok.textContent = request.confirmLabel;
    ok.className = request.danger === false ? '' : 'danger';
    return new Promise<boolean>((resolve) => {
      settle = resolve;
      dialog.showModal();
      cancel.focus();
    });
  };
}
