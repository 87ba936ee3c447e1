/**
 * Async insights reports (https://developers.facebook.com/docs/marketing-api/insights/best-practices#asynchronous):
 * `POST /act_<id>/insights` with the read's parameters starts a report run and answers its
 * `report_run_id`; `GET /<report_run_id>` tells `async_status` and `async_percent_completion`;
 * `GET /<report_run_id>/insights` pages its rows once it is "Job Completed" (before, or after
 * "Job Failed", Meta's error 2601). A run advances with each status poll (the account's
 * insights.reportRunPolls polls to finish); the account's next insights.failingReportRuns runs end
 * "Job Failed" and must be started again. A report has no size threshold: that is what it is for.
 */

import { dayOf, metaTime } from "./clock.ts";
import { errors } from "./errors.ts";
import { insights } from "./insights.ts";
import type { Page } from "./paging.ts";
import type { Params } from "./params.ts";
import type { SimState } from "./state.ts";
import { type Account, numericAccountId, type ReportRun } from "./store.ts";

export function startReportRun(
  sim: SimState,
  account: Account,
  params: Params,
): { report_run_id: string } {
  // The parameters are checked now, as Meta refuses a bad report at once.
  insights(sim, { level: "account", account, synchronous: false }, params, () => "");
  const fails = account.insights.failingReportRuns > 0;
  if (fails) account.insights.failingReportRuns--;
  const run: ReportRun = {
    id: sim.store.nextId(),
    accountId: account.id,
    params: { ...params },
    createdAt: sim.clock.now(),
    polls: 0,
    fails,
  };
  sim.store.reportRuns.set(run.id, run);
  return { report_run_id: run.id };
}

function progress(sim: SimState, run: ReportRun) {
  const needed = sim.store.accounts.get(run.accountId)!.insights.reportRunPolls;
  const percent = Math.min(100, Math.floor((run.polls * 100) / needed));
  const status = run.polls === 0
    ? "Job Not Started"
    : percent < 100
    ? "Job Running"
    : run.fails
    ? "Job Failed"
    : "Job Completed";
  return { status, percent };
}

export function reportRunRoute(
  sim: SimState,
  op: { method: string; params: Params },
  run: ReportRun,
  edge: string | undefined,
  nextUrl: (after: string) => string,
): Record<string, unknown> | Page<Record<string, unknown>> {
  if (op.method !== "GET") throw errors.objectMissing(run.id, op.method);
  if (!edge) {
    run.polls++;
    const { status, percent } = progress(sim, run);
    return {
      id: run.id,
      account_id: numericAccountId(run.accountId),
      async_status: status,
      async_percent_completion: percent,
      time_ref: Math.floor(run.createdAt / 1000),
      date_start: dayOf(run.createdAt),
      time_completed: status === "Job Completed" ? metaTime(sim.clock.now()) : undefined,
    };
  }
  if (edge !== "insights") throw errors.unknownPath(`/${edge}`);
  if (progress(sim, run).status !== "Job Completed") throw errors.reportNotReady();
  const account = sim.store.accounts.get(run.accountId)!;
  const paging = Object.fromEntries(
    ["limit", "after", "before"].filter((k) => op.params[k] !== undefined).map((k) => [
      k,
      op.params[k],
    ]),
  );
  return insights(
    sim,
    { level: "account", account, synchronous: false },
    { ...run.params, ...paging },
    nextUrl,
  );
}
