/**
 * Fault rules: which request (or batch item) fails, and how. Matching is deterministic:
 * `nth`/`every` count matches, `probability` draws from a PRNG seeded by the simulator's seed.
 */

import { z } from "zod";
import { createRng, type Rng } from "./random.ts";

export const faultEffectSchema = z.union([
  z.strictObject({
    error: z.strictObject({
      code: z.number().int(),
      subcode: z.number().int().optional(),
      transient: z.boolean().optional(),
      status: z.number().int().min(400).max(599).optional(),
      message: z.string().optional(),
    }),
  }),
  z.strictObject({
    rateLimit: z.strictObject({
      regainSeconds: z.number().nonnegative(),
      code: z.number().int().optional(),
    }),
  }),
  z.strictObject({ applyThenDrop: z.literal(true) }),
  z.strictObject({ silentSuccess: z.literal(true) }),
  z.strictObject({ delayMs: z.number().int().nonnegative().max(600_000) }),
  z.strictObject({ suspendAccount: z.literal(true) }),
]);

export const faultRuleSchema = z.strictObject({
  method: z.string().optional(),
  path: z.string().refine((p) => {
    try {
      new RegExp(p);
      return true;
    } catch {
      return false;
    }
  }, "not a valid regular expression").optional(),
  match: z.string().optional(),
  nth: z.number().int().positive().optional(),
  every: z.number().int().positive().optional(),
  probability: z.number().min(0).max(1).optional(),
  times: z.number().int().positive().optional(),
  effect: faultEffectSchema,
}).refine(
  (r) => [r.nth, r.every, r.probability].filter((x) => x !== undefined).length <= 1,
  "use at most one of nth, every, probability",
);

export type FaultEffect = z.infer<typeof faultEffectSchema>;
export type FaultRule = z.infer<typeof faultRuleSchema>;

/** What a rule is matched against: a plain request, a batch item, or a batch envelope. */
export interface FaultTarget {
  method: string;
  /** Path without the version, e.g. /act_1/adsets; rules are also tried on `versionedPath`. */
  path: string;
  versionedPath: string;
  /** Body text, with the query string, for `match`. */
  body: string;
  /** The batch envelope itself: only rules with a `path` that matches it apply. */
  envelope: boolean;
}

export interface FiredFault {
  rule: number;
  effect: string;
  item?: number;
}

export interface FaultDecision {
  delayMs: number;
  /** The effect to apply besides delays, if a rule fired. */
  effect: Exclude<FaultEffect, { delayMs: number }> | null;
  fired: FiredFault[];
}

interface RuleState {
  rule: FaultRule;
  regex: RegExp | null;
  matched: number;
  fired: number;
}

export const effectName = (effect: FaultEffect): string => Object.keys(effect)[0];

export class FaultEngine {
  #rules: RuleState[] = [];
  #rng: Rng;

  constructor(private readonly seed: number) {
    this.#rng = createRng(seed);
  }

  setRules(rules: FaultRule[]): void {
    this.#rules = rules.map((rule) => ({
      rule,
      regex: rule.path === undefined ? null : new RegExp(rule.path),
      matched: 0,
      fired: 0,
    }));
  }

  /** Rules with how often each matched and fired. */
  describe(): (FaultRule & { matched: number; fired: number })[] {
    return this.#rules.map((s) => ({ ...s.rule, matched: s.matched, fired: s.fired }));
  }

  reset(): void {
    this.#rules = [];
    this.#rng = createRng(this.seed);
  }

  /**
   * Every matching rule counts the request (so `nth` means the nth matching request); in rule
   * order, delays add up and the first other effect that fires wins.
   */
  evaluate(target: FaultTarget, item?: number): FaultDecision {
    const decision: FaultDecision = { delayMs: 0, effect: null, fired: [] };
    for (const [index, state] of this.#rules.entries()) {
      if (!this.#matches(state, target)) continue;
      state.matched++;
      if (decision.effect || !this.#fires(state)) continue;
      const { effect } = state.rule;
      decision.fired.push({
        rule: index,
        effect: effectName(effect),
        ...(item === undefined ? {} : { item }),
      });
      if ("delayMs" in effect) decision.delayMs += effect.delayMs;
      else decision.effect = effect;
    }
    return decision;
  }

  #matches(state: RuleState, t: FaultTarget): boolean {
    const { rule, regex } = state;
    if (t.envelope && !regex) return false;
    if (rule.method && rule.method.toUpperCase() !== t.method) return false;
    if (regex && !regex.test(t.path) && !regex.test(t.versionedPath)) return false;
    return rule.match === undefined || t.body.includes(rule.match);
  }

  /** Whether a matching rule fires; the PRNG is drawn only for probability rules asked here. */
  #fires(state: RuleState): boolean {
    const { rule } = state;
    if (rule.times !== undefined && state.fired >= rule.times) return false;
    const fires = rule.nth !== undefined
      ? state.matched === rule.nth
      : rule.every !== undefined
      ? state.matched % rule.every === 0
      : rule.probability !== undefined
      ? this.#rng() < rule.probability
      : true;
    if (fires) state.fired++;
    return fires;
  }
}
