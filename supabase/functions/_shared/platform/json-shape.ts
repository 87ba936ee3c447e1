// What no schema checks in a parsed JSON body, checked without recursion: how deep it nests (a
// 1 MiB body can nest hundreds of thousands of levels, deeper than any recursive walk, zod's
// included, has stack for), and the key `__proto__` (JSON.parse keeps it as a key; zod's records
// and catch-alls silently drop it, so it would pass unseen).

export type JsonShapeIssue = { path: PropertyKey[]; message: string };

/** A path as a chain from the leaf up: each step shares its parent's, nothing is copied. */
type Trail = { key: PropertyKey; up: Trail } | null;

function pathOf(trail: Trail): PropertyKey[] {
  const path: PropertyKey[] = [];
  for (let step = trail; step; step = step.up) path.unshift(step.key);
  return path;
}

/**
 * The first object or array nested deeper than `maxDepth` levels (the value itself, when it is
 * one, is level 1), or key `__proto__`; undefined when there is none.
 */
export function jsonShapeIssue(value: unknown, maxDepth: number): JsonShapeIssue | undefined {
  const pending: [unknown, number, Trail][] = [[value, 1, null]];
  for (let next = pending.pop(); next; next = pending.pop()) {
    const [item, depth, trail] = next;
    if (item === null || typeof item !== "object") continue;
    if (depth > maxDepth) {
      return { path: pathOf(trail), message: `nested deeper than ${maxDepth} levels` };
    }
    if (Object.hasOwn(item, "__proto__")) {
      return {
        path: pathOf({ key: "__proto__", up: trail }),
        message: "the key __proto__ is not accepted",
      };
    }
    const entries = Array.isArray(item) ? item.entries() : Object.entries(item);
    for (const [key, child] of entries) pending.push([child, depth + 1, { key, up: trail }]);
  }
  return undefined;
}
