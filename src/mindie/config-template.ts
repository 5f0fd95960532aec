import base from '../../templates/mindie-config.base.json' with { type: 'json' };
import { toJsonValue, type JsonObject } from './json-value.js';

/**
 * The MindIE 2.1 default config.json, imported statically so the single executable carries it.
 * Returns a fresh copy: callers mutate it.
 */
export function baseMindieConfig(): JsonObject {
  return toJsonValue(base, 'templates/mindie-config.base.json') as JsonObject;
}
