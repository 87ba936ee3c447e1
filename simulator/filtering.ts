/**
 * `effective_status` and `filtering` on edges and insights. Meta leaves DELETED and ARCHIVED
 * objects out unless a status filter names them (reference/meta-marketing-api.md, "Reads").
 */

import { errors } from "./errors.ts";
import { jsonParam, listParam, type Params } from "./params.ts";

export interface FilterClause {
  field: string;
  operator: string;
  value: unknown;
}

const STATUS_FIELDS = ["effective_status", "status", "configured_status"];
const HIDDEN_BY_DEFAULT = ["DELETED", "ARCHIVED"];

export function readFilters(params: Params): FilterClause[] {
  const clauses: FilterClause[] = [];
  const statuses = listParam(params, "effective_status");
  if (statuses) clauses.push({ field: "effective_status", operator: "IN", value: statuses });
  const filtering = params.filtering === undefined ? [] : jsonParam(params, "filtering");
  if (!Array.isArray(filtering)) throw errors.invalidParam("Param filtering must be an array");
  for (const c of filtering) {
    if (
      !c || typeof c !== "object" || typeof c.field !== "string" || typeof c.operator !== "string"
    ) {
      throw errors.invalidParam("Filtering clauses need field, operator and value");
    }
    clauses.push({ field: c.field, operator: c.operator.toUpperCase(), value: c.value });
  }
  return clauses;
}

/** Field name without the `<type>.` prefix when it names the filtered object's own type. */
function localField(field: string, type: string): string {
  return field.startsWith(`${type}.`) ? field.slice(type.length + 1) : field;
}

/** Whether some clause filters the object's status, which lifts the default DELETED/ARCHIVED exclusion. */
export function namesStatus(clauses: FilterClause[], type: string): boolean {
  return clauses.some((c) => STATUS_FIELDS.includes(localField(c.field, type)));
}

export function hiddenByDefault(effectiveStatus: string): boolean {
  return HIDDEN_BY_DEFAULT.includes(effectiveStatus);
}

function compare(op: string, actual: unknown, expected: unknown): boolean {
  const list = Array.isArray(expected) ? expected.map(String) : [String(expected)];
  const a = actual === undefined || actual === null ? "" : String(actual);
  switch (op) {
    case "EQUAL":
      return a === String(expected);
    case "NOT_EQUAL":
      return a !== String(expected);
    case "IN":
      return list.includes(a);
    case "NOT_IN":
      return !list.includes(a);
    case "CONTAIN":
      return a.toLowerCase().includes(String(expected).toLowerCase());
    case "NOT_CONTAIN":
      return !a.toLowerCase().includes(String(expected).toLowerCase());
    case "GREATER_THAN":
      return Number(a) > Number(expected);
    case "GREATER_THAN_OR_EQUAL":
      return Number(a) >= Number(expected);
    case "LESS_THAN":
      return Number(a) < Number(expected);
    case "LESS_THAN_OR_EQUAL":
      return Number(a) <= Number(expected);
    default:
      throw errors.invalidParam(`Filtering operator ${op} is not supported`);
  }
}

/**
 * Whether a record passes: every clause holds, and hidden statuses only pass when named.
 * `get` reads a field (prefixed ones such as campaign.id included) of the record.
 */
export function passes(
  clauses: FilterClause[],
  type: string,
  effectiveStatus: string,
  get: (field: string) => unknown,
): boolean {
  if (hiddenByDefault(effectiveStatus) && !namesStatus(clauses, type)) return false;
  return clauses.every((c) => compare(c.operator, get(localField(c.field, type)), c.value));
}
