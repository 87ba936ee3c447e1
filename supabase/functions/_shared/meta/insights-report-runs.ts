// Async insights reports, for the accounts too big for a synchronous read
// (https://developers.facebook.com/docs/marketing-api/insights/best-practices#asynchronous):
// POST /act_<id>/insights starts a report run with the read's parameters, GET /<report_run_id>
// tells its async_status and async_percent_completion, GET /<report_run_id>/insights pages its
// rows once "Job Completed". A run Meta fails ("Job Failed", "Job Skipped"), or no longer knows,
// is started again, a few times. Polling stops at the caller's deadline (the edge function's wall-clock limit): the
// run is remembered in the database (private.insights_report_runs) and the account's next sync
// continues it rather than starting over.
import { db, type EntityType } from "../platform/db.ts";
import type { GraphClient, GraphParams } from "./graph-client.ts";
import type { GraphResult } from "./graph-errors.ts";
import { log } from "../platform/log.ts";
import type { DateRange } from "../sync/metrics-fetcher.ts";
import { retryRead } from "./retry.ts";

/** Report runs one read starts at most when Meta keeps failing them. */
export const maxReportRunStarts = 3;
const firstPollWaitMs = 500;
const maxPollWaitMs = 5_000;

export type ReportRead<T> =
  | { status: "read"; rows: T[] }
  /** Not finished by the deadline: the next sync continues it. */
  | { status: "pending"; reportRunId: string };

export type ReportKey = { adAccountId: string; level: EntityType; range: DateRange };

type RunStatus = { async_status?: string; async_percent_completion?: number };

const failedStatuses = new Set(["Job Failed", "Job Skipped"]);

async function startRun(
  graph: GraphClient,
  platformAccountId: string,
  key: ReportKey,
  params: GraphParams,
): Promise<GraphResult<string>> {
  // Retried only on a clear failure: a lost answer (UNKNOWN_OUTCOME) may have started a run we
  // cannot know the id of; it is left unread on Meta, harmless, and this read fails for now.
  const started = await retryRead(() =>
    graph.post<{ report_run_id?: string }>(`/${platformAccountId}/insights`, params)
  );
  if (!started.ok) return started;
  const id = started.data.report_run_id;
  if (!id) return { ok: false, error: { class: "PERMANENT", message: "no report_run_id" } };
  await db()`select public.record_insights_report_run(
    ${key.adAccountId}, ${key.level}, ${key.range.since}, ${key.range.until}, ${id})`;
  return { ok: true, data: id };
}

const forget = (key: ReportKey, id: string) =>
  db()`select public.forget_insights_report_run(${key.adAccountId}, ${id})`;

/**
 * The rows of an account-level insights read (`params`), run as a report: continued from an
 * earlier sync when one started it, else started now; polled until `deadline` (epoch ms).
 */
export async function readAsReport<T>(
  graph: GraphClient,
  platformAccountId: string,
  key: ReportKey,
  params: GraphParams,
  deadline: number,
): Promise<GraphResult<ReportRead<T>>> {
  const [{ pending }] = await db()<{ pending: string | null }[]>`
    select public.pending_insights_report_run(
      ${key.adAccountId}, ${key.level}, ${key.range.since}, ${key.range.until}) as pending`;
  let runId = pending ?? undefined;
  for (let starts = 0;;) {
    if (!runId) {
      if (starts === maxReportRunStarts) {
        const message = `Meta failed ${maxReportRunStarts} insights report runs in a row`;
        return { ok: false, error: { class: "TEMPORARY", message } };
      }
      const started = await startRun(graph, platformAccountId, key, params);
      if (!started.ok) return started;
      runId = started.data;
      starts++;
    }
    for (let wait = firstPollWaitMs;; wait = Math.min(wait * 2, maxPollWaitMs)) {
      const status = await retryRead(() =>
        graph.get<RunStatus>(`/${runId}`, { fields: "async_status,async_percent_completion" })
      );
      if (!status.ok) {
        if (status.error.class !== "PERMANENT") return status;
        // Meta no longer knows the run (expired, or never stored): start another.
        log.warn("insights report run unreadable on Meta: starting another", {
          reportRunId: runId,
          level: key.level,
          code: status.error.code,
        });
        await forget(key, runId);
        runId = undefined;
        break;
      }
      if (status.data.async_status === "Job Completed") {
        const rows = await retryRead(() => graph.getAll<T>(`/${runId}/insights`));
        if (!rows.ok) return rows;
        await forget(key, runId);
        return { ok: true, data: { status: "read", rows: rows.data } };
      }
      if (failedStatuses.has(status.data.async_status ?? "")) {
        log.warn("insights report run failed on Meta: starting another", {
          reportRunId: runId,
          asyncStatus: status.data.async_status,
          level: key.level,
        });
        await forget(key, runId);
        runId = undefined;
        break;
      }
      if (Date.now() + wait > deadline) {
        return { ok: true, data: { status: "pending", reportRunId: runId } };
      }
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }
}
