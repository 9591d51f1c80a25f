/**
 * DOM helpers. Data from the API is only ever written with `textContent` or as an attribute value,
 * never parsed as HTML.
 */

/** Attributes for {@link el}: `text` sets the text, `className` the class; null, undefined and false leave an attribute out. */
export type Attributes = Readonly<Record<string, string | number | boolean | null | undefined>>;

export type Child = Node | string | null | undefined;

/** A new element with attributes and children. */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes?: Attributes | null,
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes ?? {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name === 'text') node.textContent = String(value);
    else if (name === 'className') node.className = String(value);
    else node.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.appendChild(typeof child === 'string' ? document.createTextNode(child) : child);
  }
  return node;
}

type ElementType<T extends Element> = abstract new () => T;

/**
 * The element `selector` finds, checked to be a `type`. The page's shell is fixed, so a missing
 * element is a defect of the page, reported by its selector.
 */
export function findElement<T extends Element>(
  selector: string,
  type: ElementType<T>,
  root: ParentNode = document,
): T {
  const found = root.querySelector(selector);
  if (!(found instanceof type)) throw new Error(`dashboard page: no ${type.name} at ${selector}`);
  return found;
}

/** Every element `selector` finds that is a `type`. */
export function findElements<T extends Element>(
  selector: string,
  type: ElementType<T>,
  root: ParentNode = document,
): T[] {
  return [...root.querySelectorAll(selector)].filter((node): node is T => node instanceof type);
}

/**
 * Write `text` into every element marked `data-field="name"`; with `value`, also its raw value as
 * `data-value` (what tests and scripts read without parsing the formatted text).
 */
export function setField(name: string, text: string, value?: number | null): void {
  for (const node of document.querySelectorAll(`[data-field="${name}"]`)) {
    node.textContent = text;
    if (value !== undefined) node.setAttribute('data-value', String(value));
  }
}

/** Replace a table body's rows; with no rows, one row spanning `empty.columns` saying `empty.text`. */
export function replaceRows(
  body: HTMLTableSectionElement,
  rows: readonly Node[],
  empty: { columns: number; text: string },
): void {
  body.replaceChildren(
    ...(rows.length > 0
      ? rows
      : [el('tr', null, el('td', { colspan: empty.columns, className: 'empty', text: empty.text }))]),
  );
}

/** The element an event started in, or null (text nodes and the window are not elements). */
export function targetOf(event: Event): Element | null {
  return event.target instanceof Element ? event.target : null;
}
