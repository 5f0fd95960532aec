import { RenderError } from './render-error.js';

export type JsonValue = null | boolean | number | string | JsonValue[] | JsonObject;
export interface JsonObject {
  [key: string]: JsonValue;
}

export function isJsonObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Copy a user-supplied value (from YAML) into plain JSON, refusing what JSON cannot carry. `where` is
 * the dotted path used in the error, e.g. `mindieConfig.ServerConfig.port`.
 */
export function toJsonValue(value: unknown, where: string): JsonValue {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return value;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) {
      throw new RenderError(`${where} is ${value}, which JSON cannot represent`, { path: where, hint: 'use a finite number' });
    }
    return value;
  }
  if (Array.isArray(value)) return value.map((item, i) => toJsonValue(item, `${where}[${i}]`));
  if (isPlainObject(value)) {
    const out: JsonObject = {};
    for (const [key, item] of Object.entries(value)) {
      if (key === '__proto__') throw new RenderError(`${where} has a key "__proto__"`, { path: where, hint: 'remove the key' });
      out[key] = toJsonValue(item, `${where}.${key}`);
    }
    return out;
  }
  throw new RenderError(`${where} has a value of type ${value === undefined ? 'undefined' : typeof value === 'object' ? value.constructor.name : typeof value}, which cannot go into config.json`, {
    path: where,
    hint: 'use strings, numbers, booleans, lists and maps only',
  });
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null) return false;
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** Objects merge key by key (the patch wins); arrays and scalars in the patch replace. Inputs are not modified. */
export function deepMerge(base: JsonObject, patch: JsonObject): JsonObject {
  const out: JsonObject = { ...base };
  for (const [key, value] of Object.entries(patch)) {
    const current = out[key];
    out[key] = isJsonObject(current) && isJsonObject(value) ? deepMerge(current, value) : structuredClone(value);
  }
  return out;
}

export type JsonPath = readonly (string | number)[];

export function getAt(root: JsonValue, path: JsonPath): JsonValue | undefined {
  let cur: JsonValue | undefined = root;
  for (const step of path) {
    if (typeof step === 'number') {
      if (!Array.isArray(cur)) return undefined;
      cur = cur[step];
    } else {
      if (!isJsonObject(cur) || !Object.hasOwn(cur, step)) return undefined;
      cur = cur[step];
    }
  }
  return cur;
}

/** Set a value, creating the objects (and the arrays' object elements) on the way. */
export function setAt(root: JsonObject, path: JsonPath, value: JsonValue): void {
  let cur: JsonObject | JsonValue[] = root;
  path.forEach((step, i) => {
    const last = i === path.length - 1;
    const container = cur as Record<string | number, JsonValue | undefined>;
    if (last) {
      container[step] = value;
      return;
    }
    const nextIsIndex = typeof path[i + 1] === 'number';
    let next = container[step];
    if (nextIsIndex ? !Array.isArray(next) : !isJsonObject(next)) {
      next = nextIsIndex ? [] : {};
      container[step] = next;
    }
    cur = next as JsonObject | JsonValue[];
  });
}

export function formatPath(path: JsonPath): string {
  return path.map((step, i) => (typeof step === 'number' ? `[${step}]` : i === 0 ? step : `.${step}`)).join('');
}
