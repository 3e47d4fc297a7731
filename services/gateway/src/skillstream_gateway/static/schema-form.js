// Form fields generated from a job kind's JSON-Schema `parameters` (an object schema).
//
// Supported: string (formats date, date-time, email, uri), integer, number, boolean, enum (select),
// array of strings/numbers (one per line or comma-separated; checkboxes when the items have an enum),
// `default`, `required`, `minimum`/`maximum`, `minLength`/`maxLength`, `pattern`, local `$ref`s and the
// `anyOf: [X, {type: null}]` shape optional fields often have. Anything else is a JSON text area.

import { h, uid } from './dom.js';
import { humanize } from './format.js';

function resolveRef(schema, root) {
  let current = schema || {};
  for (let depth = 0; current.$ref && depth < 10; depth += 1) {
    const ref = current.$ref;
    if (!ref.startsWith('#/')) break;
    let target = root;
    for (const part of ref.slice(2).split('/')) {
      target = target == null ? undefined : target[part.replace(/~1/g, '/').replace(/~0/g, '~')];
    }
    const { $ref: _ignored, ...siblings } = current;
    current = { ...(target || {}), ...siblings };
  }
  return current;
}

/** Flatten a property schema to {type, enum, items, nullable, …}. */
export function normalizeSchema(schema, root) {
  let s = resolveRef(schema, root);
  let nullable = false;
  const options = s.anyOf || s.oneOf;
  if (Array.isArray(options)) {
    const resolved = options.map((o) => resolveRef(o, root));
    const nonNull = resolved.filter((o) => o.type !== 'null');
    nullable = nonNull.length < resolved.length;
    if (nonNull.length === 1) {
      const { anyOf: _a, oneOf: _o, ...outer } = s;
      s = { ...nonNull[0], ...outer };
    }
  }
  let type = s.type;
  if (Array.isArray(type)) {
    nullable = nullable || type.includes('null');
    type = type.find((t) => t !== 'null');
  }
  if (!type && Array.isArray(s.enum) && s.enum.length) type = typeof s.enum[0] === 'number' ? 'number' : 'string';
  if (!type && s.const !== undefined) type = typeof s.const === 'number' ? 'number' : 'string';
  const out = { ...s, type, nullable };
  if (type === 'array') out.items = normalizeSchema(s.items || {}, root);
  return out;
}

function describe(schema, name) {
  return {
    label: schema.title || humanize(name),
    hint: schema.description || '',
  };
}

function optionLabel(value) {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** One generated field: {name, el, read() → {value?, error?}, setError(msg), focus()} */
function buildField(name, rawSchema, required, root) {
  const schema = normalizeSchema(rawSchema, root);
  const { label, hint } = describe(schema, name);
  const id = uid(`param-${name}`);
  const hintId = `${id}-hint`;
  const errorId = `${id}-error`;
  const errorEl = h('p', { class: 'field__error', id: errorId, hidden: true });
  const hintEl = hint ? h('p', { class: 'field__hint', id: hintId, text: hint }) : null;
  const describedBy = [hint ? hintId : null, errorId].filter(Boolean).join(' ');
  const def = schema.default;
  let control;
  let read;
  let body;
  const labelEl = (forId = id) =>
    h('label', { class: 'field__label', for: forId }, label, required ? h('span', { class: 'req', 'aria-hidden': 'true', text: ' *' }) : null);

  const type = schema.type;
  const enumValues = Array.isArray(schema.enum) ? schema.enum : null;

  if (type === 'boolean') {
    control = h('input', { type: 'checkbox', id, name, 'aria-describedby': describedBy, checked: def === true });
    read = () => ({ value: control.checked });
    body = [h('div', { class: 'field__check' }, control, labelEl()), hintEl];
  } else if (enumValues && type !== 'array') {
    control = h(
      'select',
      { id, name, 'aria-describedby': describedBy, required },
      required && def !== undefined ? null : h('option', { value: '', text: required ? 'Choose…' : '(not set)' }),
      enumValues.map((value, index) =>
        h('option', { value: String(index), selected: def !== undefined && value === def, text: optionLabel(value) }),
      ),
    );
    read = () => (control.value === '' ? {} : { value: enumValues[Number(control.value)] });
    body = [labelEl(), hintEl, control];
  } else if (type === 'array' && Array.isArray(schema.items?.enum)) {
    const defaults = Array.isArray(def) ? def : [];
    const boxes = schema.items.enum.map((value, index) => {
      const boxId = `${id}-${index}`;
      const box = h('input', { type: 'checkbox', id: boxId, value: String(index), checked: defaults.includes(value) });
      return { value, box, el: h('div', { class: 'field__check' }, box, h('label', { for: boxId, text: optionLabel(value) })) };
    });
    control = boxes[0]?.box || h('span');
    read = () => {
      const values = boxes.filter((b) => b.box.checked).map((b) => b.value);
      return values.length ? { value: values } : {};
    };
    body = [
      h(
        'fieldset',
        { class: 'field__group', 'aria-describedby': describedBy },
        h('legend', { class: 'field__label' }, label, required ? h('span', { class: 'req', 'aria-hidden': 'true', text: ' *' }) : null),
        hintEl,
        h('div', { class: 'field__checks' }, boxes.map((b) => b.el)),
      ),
    ];
  } else if (type === 'array') {
    const itemType = schema.items?.type || 'string';
    control = h('textarea', {
      id,
      name,
      rows: 3,
      'aria-describedby': describedBy,
      spellcheck: 'false',
      placeholder: 'One per line, or comma-separated',
      required,
    });
    if (Array.isArray(def)) control.value = def.join('\n');
    read = () => {
      const parts = control.value
        .split(/[\n,]/)
        .map((part) => part.trim())
        .filter(Boolean);
      if (!parts.length) return {};
      if (itemType === 'integer' || itemType === 'number') {
        const numbers = parts.map(Number);
        const bad = parts.find((part, i) => !Number.isFinite(numbers[i]) || (itemType === 'integer' && !Number.isInteger(numbers[i])));
        if (bad !== undefined) return { error: `“${bad}” is not ${itemType === 'integer' ? 'a whole number' : 'a number'}.` };
        return { value: numbers };
      }
      return { value: parts };
    };
    body = [labelEl(), hintEl, control];
  } else if (type === 'integer' || type === 'number') {
    control = h('input', {
      type: 'number',
      id,
      name,
      inputmode: type === 'integer' ? 'numeric' : 'decimal',
      step: type === 'integer' ? '1' : 'any',
      min: schema.minimum,
      max: schema.maximum,
      value: def,
      'aria-describedby': describedBy,
      required,
    });
    read = () => {
      const text = control.value.trim();
      if (text === '') return control.validity.badInput ? { error: 'Enter a number.' } : {};
      const n = Number(text);
      if (!Number.isFinite(n)) return { error: 'Enter a number.' };
      if (type === 'integer' && !Number.isInteger(n)) return { error: 'Enter a whole number.' };
      if (schema.minimum != null && n < schema.minimum) return { error: `Must be at least ${schema.minimum}.` };
      if (schema.maximum != null && n > schema.maximum) return { error: `Must be at most ${schema.maximum}.` };
      return { value: n };
    };
    body = [labelEl(), hintEl, control];
  } else if (type === 'string') {
    const inputType = { date: 'date', 'date-time': 'datetime-local', email: 'email', uri: 'url' }[schema.format] || 'text';
    let value = def;
    if (inputType === 'datetime-local' && typeof def === 'string') value = def.replace(/Z$|[+-]\d\d:\d\d$/, '').slice(0, 16);
    control = h('input', {
      type: inputType,
      id,
      name,
      value,
      minlength: schema.minLength,
      maxlength: schema.maxLength,
      pattern: schema.pattern,
      autocomplete: 'off',
      spellcheck: 'false',
      'aria-describedby': describedBy,
      required,
    });
    read = () => {
      const text = control.value.trim();
      if (text === '') return {};
      if (schema.minLength != null && text.length < schema.minLength) return { error: `At least ${schema.minLength} characters.` };
      if (schema.pattern) {
        try {
          if (!new RegExp(schema.pattern, 'u').test(text)) return { error: 'This value does not have the expected format.' };
        } catch {
          /* a pattern the browser can't compile: leave it to the server */
        }
      }
      if (inputType === 'datetime-local') {
        const ms = Date.parse(text);
        return Number.isNaN(ms) ? { error: 'Enter a date and time.' } : { value: new Date(ms).toISOString() };
      }
      return { value: text };
    };
    body = [labelEl(), hintEl, control];
  } else {
    control = h('textarea', { id, name, rows: 3, class: 'mono', spellcheck: 'false', 'aria-describedby': describedBy, required });
    if (def !== undefined) control.value = JSON.stringify(def, null, 2);
    read = () => {
      const text = control.value.trim();
      if (text === '') return {};
      try {
        return { value: JSON.parse(text) };
      } catch {
        return { error: 'Enter valid JSON.' };
      }
    };
    body = [labelEl(), h('p', { class: 'field__hint', text: hint || 'JSON value' }), control];
  }

  const el = h('div', { class: 'field', 'data-field': name }, body, errorEl);
  const controls = () => el.querySelectorAll('input, select, textarea');
  return {
    name,
    el,
    read() {
      const result = read();
      if (result.error) return result;
      if (result.value === undefined && required) return { error: 'This field is required.' };
      return result;
    },
    setError(message) {
      errorEl.hidden = !message;
      errorEl.textContent = message || '';
      el.classList.toggle('field--invalid', Boolean(message));
      for (const c of controls()) {
        if (message) c.setAttribute('aria-invalid', 'true');
        else c.removeAttribute('aria-invalid');
      }
    },
    focus() {
      control.focus();
    },
  };
}

/** Fields for an object schema. `read()` → {values, errors: {name: message}}. */
export function schemaFields(schema) {
  const root = schema || {};
  const normalized = resolveRef(root, root);
  const properties = normalized.properties || {};
  const required = new Set(normalized.required || []);
  const fields = Object.entries(properties).map(([name, prop]) => buildField(name, prop, required.has(name), root));
  const el = h(
    'div',
    { class: 'fields' },
    fields.length ? fields.map((f) => f.el) : h('p', { class: 'muted small', text: 'This job kind takes no parameters.' }),
  );
  const byName = new Map(fields.map((f) => [f.name, f]));
  return {
    el,
    has: (name) => byName.has(name),
    read() {
      const values = {};
      const errors = {};
      for (const field of fields) {
        const result = field.read();
        if (result.error) errors[field.name] = result.error;
        else if (result.value !== undefined) values[field.name] = result.value;
      }
      return { values, errors };
    },
    showErrors(errors) {
      for (const field of fields) field.setError(errors[field.name] || '');
      const first = fields.find((f) => errors[f.name]);
      if (first) first.focus();
    },
  };
}
