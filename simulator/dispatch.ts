/**
 * Runs one Graph operation (a plain request or a batch item) through throttling and fault
 * rules, and turns the result or GraphError into an answer.
 */

import type { AuthContext } from "./auth.ts";
import { errorBody, errors, GraphError } from "./errors.ts";
import type { FaultDecision } from "./faults.ts";
import { type Operation, route } from "./graph-routes.ts";
import { applyLegacyRules } from "./legacy.ts";
import { listParam } from "./params.ts";
import { logFaultDecision, type RequestLogEntry } from "./request-log.ts";
import type { SimState } from "./state.ts";
import type { Account } from "./store.ts";
import { recordCall, throttle, throttleError, usageHeaders } from "./usage.ts";
import { resolveVersion } from "./versions.ts";

export interface Answer {
  status: number;
  body: unknown;
  headers: Record<string, string>;
}

/** An answer, or "dropped": the work was done but the connection is cut without one. */
export type Outcome = Answer | "dropped";

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const usageOf = (sim: SimState, account: Account | undefined) =>
  account ? usageHeaders(account, sim.clock.now()) : {};

export function errorAnswer(sim: SimState, e: GraphError, account?: Account): Answer {
  return {
    status: e.status,
    body: errorBody(e, sim.traceId()),
    headers: { ...usageOf(sim, account), ...e.headers },
  };
}

/** Catches GraphErrors of `fn` as Meta-shaped answers; anything else is a simulator bug. */
export async function answering(
  sim: SimState,
  account: Account | undefined,
  fn: () => Outcome | Promise<Outcome>,
): Promise<Outcome> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof GraphError) return errorAnswer(sim, e, account);
    throw e;
  }
}

/** The account an operation concerns: throttling, suspension and usage headers apply to it. */
export function accountOf(sim: SimState, ctx: AuthContext, op?: Operation): Account | undefined {
  const node = op?.path.split("/").filter(Boolean)[0] ?? (op && listParam(op.params, "ids")?.[0]);
  const id = node?.startsWith("act_")
    ? node
    : node
    ? sim.store.entities.get(node)?.accountId
    : undefined;
  return sim.store.accounts.get(id && ctx.accountIds.has(id) ? id : [...ctx.accountIds][0]);
}

/**
 * Applies a fault decision around `run` (which gets `commit`: false means answer but store
 * nothing). Delays first; then error, rate limit (opens a throttle window), account
 * suspension (then runs), silent success, or apply-then-drop.
 */
export async function withFaults(
  sim: SimState,
  account: Account | undefined,
  decision: FaultDecision,
  run: (commit: boolean) => Promise<Outcome>,
): Promise<Outcome> {
  if (decision.delayMs) await sleep(decision.delayMs);
  const effect = decision.effect;
  if (!effect) return run(true);
  if ("error" in effect) return errorAnswer(sim, errors.injected(effect.error), account);
  if ("rateLimit" in effect) {
    const code = effect.rateLimit.code ?? 80004; // 80004: ads management business-use-case limit
    const now = sim.clock.now();
    if (account) throttle(account, now, effect.rateLimit.regainSeconds, code);
    return errorAnswer(sim, errors.rateLimited(code, usageOf(sim, account)), account);
  }
  if ("suspendAccount" in effect) {
    if (account) account.status = 2;
    return run(true);
  }
  if ("silentSuccess" in effect) return run(false);
  await run(true);
  return "dropped";
}

/**
 * The operation as Meta runs it and the version it runs as: refused (GraphError) when its version
 * is not served or it uses a removed legacy feature.
 */
export function servedOperation(op: Operation, now: number): { op: Operation; version: string } {
  const version = resolveVersion(op.requestedVersion, op.path, op.method, now);
  return { op: applyLegacyRules(op, version, now), version };
}

/**
 * One operation: version and legacy rules, throttle window, fault rules (logged on `entry`),
 * then the route.
 */
export function runOperation(
  sim: SimState,
  ctx: AuthContext,
  requested: Operation,
  entry: RequestLogEntry,
  commit: boolean,
  item?: number,
): Promise<Outcome> {
  const now = sim.clock.now();
  const account = accountOf(sim, ctx, requested);
  return answering(sim, account, () => {
    const { op, version } = servedOperation(requested, now);
    const throttled = account && throttleError(account, now);
    if (throttled) {
      entry.throttled = true;
      return errorAnswer(sim, throttled, account);
    }
    if (account) recordCall(account, now);
    const decision = sim.faults.evaluate({
      method: op.method,
      path: op.path,
      versionedPath: op.versionedPath,
      body: op.matchText,
      envelope: false,
    }, item);
    logFaultDecision(entry, decision);
    return withFaults(sim, account, decision, (allowed) =>
      answering(sim, account, () => ({
        status: 200,
        body: route(sim, ctx, op, version, commit && allowed),
        headers: usageOf(sim, account),
      })));
  });
}
