// Seeded fuzzing of request bodies: from a valid body and the shape adrail's schema gives it,
// mutated bodies (wrong types, huge and negative numbers, unicode, 1 MB strings, deep nesting,
// missing and extra fields, `__proto__` and `{result=…}` in names and keys, bodies that are not
// JSON or not objects), each with what validation must answer: certainly 400, 413 over 1 MiB, or
// (a body that may well be valid) any 4xx. One PRNG (mulberry32) per target and seed, so a case
// replays from its seed and index.

/** A JSON value. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** mulberry32: small, fast, and the same sequence for the same seed everywhere. */
export class Random {
  #state: number;
  constructor(seed: number) {
    this.#state = seed >>> 0;
  }
  next(): number {
    let t = (this.#state = (this.#state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(below: number): number {
    return Math.floor(this.next() * below);
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
}

/** A 32-bit FNV-1a hash, to derive each target's seed from the run's. */
export function hashOf(text: string): number {
  let hash = 0x811c9dc5;
  for (const char of text) hash = Math.imul(hash ^ char.charCodeAt(0), 0x01000193) >>> 0;
  return hash;
}

/**
 * What the schema makes of a body: typed fields (a wrong type is always refused), objects, strict
 * (an unknown key is refused) or not (other keys are free JSON), and free JSON (a template).
 */
export type Shape =
  | { kind: "string" | "number" | "boolean" | "array" }
  | { kind: "free" }
  | { kind: "object"; strict: boolean; fields: Record<string, Field> };
export type Field = { shape: Shape; required: boolean };

/** A function route whose bodies are fuzzed. */
export type FuzzTarget = {
  name: string;
  /** Below /functions/v1/. */
  path: string;
  base: Json;
  shape: Shape & { kind: "object" };
  /** An empty body stands for `{}` (it is then valid). */
  emptyBodyValid?: boolean;
  /** The route checks every text of the body, keys included (no `{result=`, no U+0000): launches. */
  checksAllText?: boolean;
  /** The route reads an Idempotency-Key header. */
  idempotencyKey?: boolean;
};

/** What validation must answer a case. */
export type Expectation = "400" | "413" | "4xx";

export type FuzzCase = {
  index: number;
  text: string;
  headers: Record<string, string>;
  expect: Expectation;
  /** What was done to the base body, for a failure's report. */
  mutations: string[];
};

const oneMegabyte = 1_000_000;
/** No typed string of any body, nor a template, holds this much: such a body is refused. */
const longerThanAnyField = 40_000;

const strings: readonly string[] = [
  "",
  " ",
  "\t\n",
  "a",
  "x".repeat(300),
  "y".repeat(5_000),
  "😀🚀",
  "\u202eevil",
  "ｆｕｌｌ",
  "Ω≈ç√∫",
  "مرحبا",
  "𝕳𝖊𝖑𝖑𝖔",
  "𝕳𝖊𝖑𝖑𝖔 𝖂𝖔𝖗𝖑𝖉",
  "header\r\nX-Injected: 1",
  "\u200b",
  "nul\u0000byte",
  "\ud800",
  "\udfff\ud800",
  "{result=campaign:$.id}",
  "x{RESULT=adset:$.id}y",
  "act_1",
  "act_١٢٣",
  "act_-1",
  `act_${"9".repeat(30)}`,
  "2026-02-30",
  "2026-13-01",
  "0000-01-01",
  "9999-12-31",
  "NaN",
  "null",
  "true",
  "<script>alert(1)</script>",
  "'; drop table public.ad_accounts; --",
  "%00",
  "../../etc/passwd",
  '\\"',
  "OUTCOME_SALES",
  "PAUSED",
  "auto",
];
const numbers: readonly number[] = [
  0,
  -1,
  1,
  0.5,
  1.5,
  -0.0001,
  1e308,
  -1e308,
  4.9e-324,
  2 ** 53 + 2,
  -(2 ** 53),
  2 ** 31,
  2 ** 63,
  20,
  21,
  48,
  49,
  200,
  201,
  1000,
];
const keys: readonly string[] = [
  "",
  " ",
  "__proto__",
  "constructor",
  "toString",
  "{result=x:$.id}",
  "\u0000",
  "😀",
  "k".repeat(1_000),
  "$where",
  "id",
  "0",
  "extra",
];
const notJson: readonly string[] = [
  "{",
  "}",
  '{"a":}',
  "nul",
  "\u0000",
  "[1,2",
  "NaN",
  "Infinity",
  "'single'",
  "{}\ufeff",
  "{}}",
  "--",
];

/** Sets a key as an own, enumerable property (even `__proto__`), as JSON.parse would. */
function setOwn(target: Record<string, Json>, key: string, value: Json): void {
  Object.defineProperty(target, key, {
    value,
    enumerable: true,
    writable: true,
    configurable: true,
  });
}

/** A random JSON value of any kind, nested at most `depth` more levels. */
function randomValue(random: Random, depth = 2): Json {
  switch (random.int(depth > 0 ? 7 : 5)) {
    case 0:
      return random.pick(strings);
    case 1:
      return random.pick(numbers);
    case 2:
      return random.chance(0.5);
    case 3:
      return null;
    case 4:
      return random.pick(strings.filter((s) => s.length < 100));
    case 5:
      return Array.from({ length: random.int(4) }, () => randomValue(random, depth - 1));
    default: {
      const object: Record<string, Json> = {};
      for (let i = random.int(4); i > 0; i--) {
        setOwn(object, random.pick(keys), randomValue(random, depth - 1));
      }
      return object;
    }
  }
}

function kindOf(value: Json): "string" | "number" | "boolean" | "array" | "object" | "null" {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  return typeof value as "string" | "number" | "boolean" | "object";
}

/** A value whose JSON kind is not `kind` (an object's is any but object; free JSON's the same). */
function otherKind(random: Random, kind: Shape["kind"]): Json {
  const wanted = kind === "free" ? "object" : kind;
  for (;;) {
    const value = randomValue(random, 1);
    if (kindOf(value) !== wanted) return value;
  }
}

type Place = {
  path: (string | number)[];
  holder: Record<string, Json> | Json[];
  key: string | number;
};
type TypedPlace = Place & { field: Field };

/** Every typed field of the body, with its place. */
function typedPlaces(value: Json, shape: Shape, path: (string | number)[] = []): TypedPlace[] {
  if (shape.kind !== "object" || !value || typeof value !== "object" || Array.isArray(value)) {
    return [];
  }
  return Object.entries(shape.fields).flatMap(([key, field]) =>
    Object.hasOwn(value, key)
      ? [
        { path: [...path, key], holder: value, key, field },
        ...typedPlaces(value[key], field.shape, [...path, key]),
      ]
      : []
  );
}

/** Every place inside free JSON (templates, and a non-strict object's other keys). */
function freePlaces(value: Json, shape: Shape, path: (string | number)[] = []): Place[] {
  if (!value || typeof value !== "object") return [];
  const inside = (holder: Record<string, Json> | Json[], key: string | number): Place[] => [
    { path: [...path, key], holder, key },
    ...freePlaces((holder as Record<string, Json>)[key], { kind: "free" }, [...path, key]),
  ];
  if (shape.kind === "free") {
    return Array.isArray(value)
      ? value.flatMap((_, i) => inside(value, i))
      : Object.keys(value).flatMap((key) => inside(value, key));
  }
  if (shape.kind !== "object" || Array.isArray(value)) return [];
  return Object.keys(value).flatMap((key) =>
    Object.hasOwn(shape.fields, key)
      ? freePlaces(value[key], shape.fields[key].shape, [...path, key])
      : shape.strict
      ? []
      : inside(value, key)
  );
}

/** Every object a key can be added to, and whether it refuses unknown keys. */
function objects(value: Json, shape: Shape): { object: Record<string, Json>; strict: boolean }[] {
  if (!value || typeof value !== "object" || Array.isArray(value)) {
    return Array.isArray(value) ? value.flatMap((item) => objects(item, { kind: "free" })) : [];
  }
  const strict = shape.kind === "object" && shape.strict;
  const fields = shape.kind === "object" ? shape.fields : {};
  return [
    { object: value, strict },
    ...Object.keys(value).flatMap((key) =>
      objects(value[key], Object.hasOwn(fields, key) ? fields[key].shape : { kind: "free" })
    ),
  ];
}

const describe = (place: Place) => place.path.join(".") || "(body)";
const put = (place: Place, value: Json) => {
  if (Array.isArray(place.holder)) place.holder[place.key as number] = value;
  else setOwn(place.holder, place.key as string, value);
};

/** Mutations that may leave the body valid: the answer may be any 4xx. */
function mutateMaybe(random: Random, body: Json, target: FuzzTarget, notes: string[]): void {
  const typed = typedPlaces(body, target.shape);
  const free = freePlaces(body, target.shape);
  switch (random.int(4)) {
    case 0: {
      // A typed field, a value of its own kind.
      if (typed.length === 0) return;
      const place = random.pick(typed);
      const kind = place.field.shape.kind;
      const value = kind === "string"
        ? random.pick(strings.filter((s) => s.length < longerThanAnyField))
        : kind === "number"
        ? random.pick(numbers)
        : kind === "boolean"
        ? random.chance(0.5)
        : kind === "array"
        ? [random.pick(strings.filter((s) => s.length < 100))]
        : undefined;
      if (value === undefined) return;
      put(place, value);
      notes.push(`${describe(place)} = ${JSON.stringify(value).slice(0, 40)}`);
      return;
    }
    case 1: {
      const optional = typed.filter((p) => !p.field.required);
      if (optional.length === 0) return;
      const place = random.pick(optional);
      delete (place.holder as Record<string, Json>)[place.key];
      notes.push(`${describe(place)} removed`);
      return;
    }
    case 2: {
      const loose = objects(body, target.shape).filter((o) => !o.strict);
      if (loose.length === 0) return;
      const key = random.pick(keys);
      setOwn(random.pick(loose).object, key, randomValue(random, 1));
      notes.push(`key ${JSON.stringify(key).slice(0, 20)} added to a free object`);
      return;
    }
    default: {
      if (free.length === 0) return;
      const place = random.pick(free);
      const value = randomValue(random, 2);
      if (typeof value === "string" && value.length >= longerThanAnyField) return;
      put(place, value);
      notes.push(`${describe(place)} = ${JSON.stringify(value).slice(0, 40)}`);
    }
  }
}

/** Wraps a placeholder in nesting, in the JSON text: deeper than JSON.stringify should build. */
const deepMarker = "__adrail_fuzz_deep__";

/**
 * One mutation that makes the body certainly invalid, or (none) nothing; applied last, so no later
 * mutation can undo it. Returns what the answer must be for it, and the nesting to splice in.
 */
function mutateCertain(
  random: Random,
  body: { value: Json },
  target: FuzzTarget,
  notes: string[],
  headers: Record<string, string>,
): { text?: string; depth?: number; invalid: boolean } {
  const typed = typedPlaces(body.value, target.shape);
  const required = typed.filter((p) => p.field.required);
  const op = random.int(target.idempotencyKey ? 9 : 8);
  switch (op) {
    case 0: {
      if (typed.length === 0) break;
      const place = random.pick(typed);
      const value = otherKind(random, place.field.shape.kind);
      put(place, value);
      notes.push(`${describe(place)}: wrong type ${JSON.stringify(value).slice(0, 40)}`);
      return { invalid: true };
    }
    case 1: {
      if (required.length === 0) break;
      const place = random.pick(required);
      delete (place.holder as Record<string, Json>)[place.key];
      notes.push(`${describe(place)} (required) removed`);
      return { invalid: true };
    }
    case 2: {
      const strict = objects(body.value, target.shape).filter((o) => o.strict);
      if (strict.length === 0) break;
      const { object } = random.pick(strict);
      let key = random.pick(keys);
      while (Object.hasOwn(object, key)) key += "_";
      setOwn(object, key, randomValue(random, 1));
      notes.push(`unknown key ${JSON.stringify(key).slice(0, 20)} in a strict object`);
      return { invalid: true };
    }
    case 3: {
      const places = [...typed, ...freePlaces(body.value, target.shape)];
      const depth = 40 + random.int(20_000);
      if (places.length === 0) body.value = deepMarker;
      else put(random.pick(places), deepMarker);
      notes.push(`nested ${depth} levels`);
      return { invalid: true, depth };
    }
    case 4: {
      const value = random.chance(0.5) ? random.pick(strings) : random.pick(numbers);
      body.value = random.chance(0.3) ? [value] : value;
      notes.push(`body is ${JSON.stringify(body.value).slice(0, 40)}`);
      return { invalid: true };
    }
    case 5: {
      const text = random.chance(0.5)
        ? random.pick(notJson)
        : JSON.stringify(body.value).slice(0, random.int(JSON.stringify(body.value).length));
      notes.push(`text ${JSON.stringify(text).slice(0, 40)}`);
      return { text, invalid: !(target.emptyBodyValid && text.trim() === "") };
    }
    case 6: {
      // A megabyte string: 1 MB of ASCII fits in a body (400: no field takes that much), 1 MB of
      // two- or four-byte characters does not (413). Half as often as the others: they are slow.
      const strings = typed.filter((p) => p.field.shape.kind === "string");
      if (strings.length === 0 || random.chance(0.5)) break;
      const place = random.pick(strings);
      const char = random.pick(["a", "é", "😀"]);
      put(place, char.repeat(oneMegabyte / char.length));
      notes.push(`${describe(place)}: a megabyte of ${char}`);
      return { invalid: true };
    }
    case 7: {
      if (!target.checksAllText) break;
      const text = random.pick(["{result=campaign:$.id}", "a\u0000b", "\ud83d"]);
      const stringsOrKeys = typed.filter((p) => p.field.shape.kind === "string");
      if (random.chance(0.5) && stringsOrKeys.length > 0) {
        const place = random.pick(stringsOrKeys);
        put(place, text);
        notes.push(`${describe(place)} = ${JSON.stringify(text)}`);
      } else {
        setOwn(random.pick(objects(body.value, target.shape)).object, text, 1);
        notes.push(`key ${JSON.stringify(text)}`);
      }
      return { invalid: true };
    }
    default: {
      const key = random.pick([" ", "x".repeat(201), "sp ace", "tab\tkey", "é"]);
      headers["Idempotency-Key"] = key;
      notes.push(`Idempotency-Key ${JSON.stringify(key).slice(0, 20)}`);
      return { invalid: true };
    }
  }
  return { invalid: false };
}

/**
 * `count` cases for `target`, from `seed` (the same seed, the same cases), made one at a time: a
 * tenth of them carry megabytes.
 */
export function* fuzzCases(target: FuzzTarget, seed: number, count: number): Generator<FuzzCase> {
  const random = new Random(seed ^ hashOf(target.name));
  for (let index = 0; index < count; index++) {
    const body = { value: structuredClone(target.base) };
    const notes: string[] = [];
    const headers: Record<string, string> = {};
    for (let i = random.int(3); i > 0; i--) mutateMaybe(random, body.value, target, notes);
    const certain = random.chance(0.7)
      ? mutateCertain(random, body, target, notes, headers)
      : { invalid: false };
    let text = certain.text ?? JSON.stringify(body.value);
    if (certain.depth) {
      const open = random.chance(0.5) ? "[" : '{"a":';
      const close = open === "[" ? "]" : "}";
      text = text.replace(
        JSON.stringify(deepMarker),
        open.repeat(certain.depth) + "1" + close.repeat(certain.depth),
      );
    }
    const bytes = new TextEncoder().encode(text).byteLength;
    const expect: Expectation = bytes > 1024 * 1024
      ? "413"
      : certain.invalid || hasLongString(body.value)
      ? "400"
      : "4xx";
    yield { index, text, headers, expect, mutations: notes };
  }
}

function hasLongString(value: Json): boolean {
  if (typeof value === "string") return value.length >= longerThanAnyField;
  if (value && typeof value === "object") {
    return Object.entries(value).some(([key, item]) =>
      key.length >= longerThanAnyField || hasLongString(item)
    );
  }
  return false;
}

/** A request path below /functions/v1/ (a user function's routes, mangled), and a method. */
export function fuzzRoute(random: Random, jobId: number): { path: string; method: string } {
  const segments = [
    "jobs",
    String(jobId),
    "rollback",
    "verify",
    "approve",
    "reject",
    "",
    "..",
    ".",
    "%2e%2e",
    "%00",
    "jobs%2F1",
    "1e3",
    "-1",
    "0",
    `0${jobId}`,
    "9".repeat(18),
    "9".repeat(19),
    "１２",
    "٣",
    "😀",
    "a".repeat(3_000),
    "?x=1",
    ";",
    "%",
    "%zz",
  ];
  const below = Array.from({ length: random.int(5) }, () => random.pick(segments));
  const name = random.pick(["campaign-create", "ad-accounts", "facebook-ads-sync"]);
  return {
    path: [name, ...below].join("/"),
    method: random.pick(["GET", "POST", "PUT", "DELETE", "PATCH"]),
  };
}
