// FilterMetadata over the proxy's flat header block ([name, value, name, value, …]), edited in
// place, so what filters change is what goes upstream (or to the client).

import type { FilterMetadata } from './filter.js';

export class FieldMetadata implements FilterMetadata {
  /** Set once a filter changed the block (the proxy then reads its headers again). */
  changed = false;

  constructor(readonly fields: string[]) {}

  get(name: string): string | undefined {
    const f = this.fields;
    for (let i = 0; i < f.length; i += 2) if (f[i] === name) return f[i + 1];
    return undefined;
  }

  set(name: string, value: string): void {
    const f = this.fields;
    let found = false;
    for (let i = 0; i < f.length; i += 2) {
      if (f[i] !== name) continue;
      if (!found) {
        f[i + 1] = value;
        found = true;
      } else {
        f.splice(i, 2);
        i -= 2;
      }
    }
    if (!found) f.push(name, value);
    this.changed = true;
  }

  add(name: string, value: string): void {
    this.fields.push(name, value);
    this.changed = true;
  }

  remove(name: string): void {
    const f = this.fields;
    for (let i = 0; i < f.length; i += 2) {
      if (f[i] === name) {
        f.splice(i, 2);
        i -= 2;
        this.changed = true;
      }
    }
  }

  names(): string[] {
    const out: string[] = [];
    const f = this.fields;
    for (let i = 0; i < f.length; i += 2) if (!out.includes(f[i])) out.push(f[i]);
    return out;
  }
}
