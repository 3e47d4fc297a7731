// Tiny DOM helpers: elements are built with textContent, never innerHTML, so data can't inject markup.

/**
 * Create an element. `attrs`: `class`, `text`, `dataset` (object), `on<event>` (function),
 * booleans (true → empty attribute, false/null → omitted), anything else → attribute.
 */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value == null || value === false) continue;
    if (key === 'class') el.className = value;
    else if (key === 'text') el.textContent = value;
    else if (key === 'dataset') Object.assign(el.dataset, value);
    else if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value);
    else if (value === true) el.setAttribute(key, '');
    else el.setAttribute(key, String(value));
  }
  appendAll(el, children);
  return el;
}

export function appendAll(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child == null || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

/** Set text only when it changed (keeps selections and avoids needless layout). */
export function setText(el, text) {
  const value = text == null ? '' : String(text);
  if (el.textContent !== value) el.textContent = value;
}

export function setAttr(el, name, value) {
  if (value == null || value === false) {
    if (el.hasAttribute(name)) el.removeAttribute(name);
    return;
  }
  const str = value === true ? '' : String(value);
  if (el.getAttribute(name) !== str) el.setAttribute(name, str);
}

/** Replace an element's children. */
export function replace(el, ...children) {
  el.replaceChildren();
  return appendAll(el, children);
}

/** A unique id for label/description wiring. */
let counter = 0;
export function uid(prefix = 'id') {
  counter += 1;
  return `${prefix}-${counter}`;
}
