// A set of key paths, as a tree, answering "is one of them a prefix of this path" and "is one of
// them at or under this path" in time proportional to the path's length, not the set's size
// (100,000 problems each checked against 100,000 others was where big files spent minutes).
import type { KeyPath } from './config-error.js';

interface Branch {
  /** A member ends here. */
  end: boolean;
  readonly next: Map<string | number, Branch>;
}

export class KeyPathSet {
  private readonly root: Branch = { end: false, next: new Map() };

  constructor(paths: Iterable<KeyPath> = []) {
    for (const path of paths) this.add(path);
  }

  add(path: KeyPath): void {
    let branch = this.root;
    for (const key of path) {
      let next = branch.next.get(key);
      if (next === undefined) {
        next = { end: false, next: new Map() };
        branch.next.set(key, next);
      }
      branch = next;
    }
    branch.end = true;
  }

  /** Whether a member is `path` or one of its ancestors. */
  coversPath(path: KeyPath): boolean {
    let branch: Branch | undefined = this.root;
    for (const key of path) {
      if (branch.end) return true;
      branch = branch.next.get(key);
      if (branch === undefined) return false;
    }
    return branch.end;
  }

  /** Whether a member is `path` or lies under it. */
  reaches(path: KeyPath): boolean {
    let branch: Branch | undefined = this.root;
    for (const key of path) {
      branch = branch.next.get(key);
      if (branch === undefined) return false;
    }
    return branch.end || branch.next.size > 0;
  }
}
