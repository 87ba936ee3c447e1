// The request fuzz (issue #9): for every user-facing route that takes a body (POST
// /ad-accounts, POST /campaign-create, its jobs' rollback, verify, approve and reject, POST
// /facebook-ads-sync),
// 2,000 seeded bodies made from a valid one (_support/fuzz.ts: wrong types, huge and negative
// numbers, unicode, 1 MB strings, deep nesting, missing and extra fields, `__proto__` and
// `{result=…}` in names and keys, bodies that are not JSON), and 2,000 mangled paths and methods of
// the user functions' routes (the reads among them). Every answer to a body is a 4xx in adrail's
// error JSON, never a 5xx nor a stack trace, and exactly 400 (413 over 1 MiB) when the body is
// certainly malformed; a path gets a 4xx, or a read's 200. Nothing is written: every table's row
// count, the accounts, members, limits and the job aimed at are as they were, and the simulated
// Meta holds the same objects and answered nothing but reads.
//
// The fuzzing user may send as much as it likes, but its account takes no launch, sync or job
// action (quota 0): a body that passes validation is refused 429 before any work, so the fuzz
// reaches every check up to that point. Bodies go to the functions' own handlers served in this
// process (_support/in-process-functions.ts: thousands of invocations of the functions server,
// a worker each, would take many minutes), 8 at a time; the first cases of each route also go
// through the functions server, and must get the same answers there.
//
// Replay: ADRAIL_FUZZ_SEED=<seed> (and ADRAIL_FUZZ_CASES=<n>) deno test -A <this file>.
import assert from "node:assert/strict";
import { signLocalUserJwt } from "../../../dev/lib/local-env.ts";
import {
  type Field,
  type FuzzCase,
  fuzzCases,
  fuzzRoute,
  type FuzzTarget,
  hashOf,
  Random,
  type Shape,
} from "../_support/fuzz.ts";
import { serveFunctionsInProcess } from "../_support/in-process-functions.ts";
import { adSetTemplate, launchBody } from "../_support/launches.ts";
import { accountIdOf, type LimitAction, setLimit } from "../_support/limits.ts";
import { nextAdAccountId, type TestStack, testWithStack } from "../_support/stack.ts";

const seed = Number(Deno.env.get("ADRAIL_FUZZ_SEED") ?? 20261202);
const casesPerRoute = Number(Deno.env.get("ADRAIL_FUZZ_CASES") ?? 2000);
const concurrency = 8;
/** The first cases of each route also go through the local functions server. */
const throughFunctionsServer = 2;

const field = (shape: Shape, required = true): Field => ({ shape, required });
const text: Shape = { kind: "string" };
const strict = (fields: Record<string, Field>) => ({
  kind: "object" as const,
  strict: true,
  fields,
});

type Sent = { status: number; text: string };

async function send(base: string, path: string, init: RequestInit, bearer: string): Promise<Sent> {
  const response = await fetch(`${base}/functions/v1/${path}`, {
    ...init,
    headers: {
      Authorization: `Bearer ${bearer}`,
      "Content-Type": "application/json",
      ...init.headers,
    },
  });
  return { status: response.status, text: await response.text() };
}

/** Runs `work` on every item, `limit` at a time, drawing the items as they are needed. */
async function pooled<T>(items: Iterable<T>, limit: number, work: (item: T) => Promise<void>) {
  const iterator = items[Symbol.iterator]();
  await Promise.all(Array.from({ length: limit }, async () => {
    for (let next = iterator.next(); !next.done; next = iterator.next()) await work(next.value);
  }));
}

/** What is wrong with an answer to a body, or undefined. */
function problemWith(fuzz: FuzzCase, sent: Sent): string | undefined {
  if (sent.status >= 500) return "a 5xx";
  if (fuzz.expect !== "4xx" && String(sent.status) !== fuzz.expect) return `not ${fuzz.expect}`;
  if (sent.status < 400 || sent.status >= 500) return "not a 4xx";
  let body: { error?: unknown; message?: unknown };
  try {
    body = JSON.parse(sent.text);
  } catch {
    return "not JSON";
  }
  if (typeof body.error !== "string" || typeof body.message !== "string") {
    return "not adrail's error";
  }
  if (/\.ts:\d+|\n\s+at /.test(sent.text)) return "a stack trace";
  return undefined;
}

function report(target: string, fuzz: FuzzCase, sent: Sent, problem: string): string {
  const bytes = new TextEncoder().encode(fuzz.text).byteLength;
  return [
    `seed ${seed}, ${target}, case #${fuzz.index}: ${problem} (${fuzz.mutations.join("; ")})`,
    `  answered ${sent.status}: ${sent.text.slice(0, 300)}`,
    `  body (${bytes} bytes): ${JSON.stringify(fuzz.text.slice(0, 300))}`,
    `  headers: ${JSON.stringify(fuzz.headers).slice(0, 200)}`,
  ].join("\n");
}

/**
 * What the fuzz must not change: every table's row count (but the request limits' buckets, the
 * worker slots and rollback audits, which pg_cron's worker runs may move for other tests' jobs),
 * the accounts (identities, owners, secrets), members, limits, every bucket but the fuzzing
 * user's, the job aimed at; on Meta, every account and object.
 */
async function footprint(stack: TestStack, userId: string, jobId: number) {
  const [database] = await stack.sql`
    select
      (select jsonb_object_agg(c.relname, (xpath('/row/n/text()', query_to_xml(
         format('select count(*) as n from public.%I', c.relname), false, true, '')))[1]::text::int)
       from pg_catalog.pg_class c
       where c.relnamespace = 'public'::regnamespace and c.relkind = 'r'
         and c.relname not in ('request_rate_limits', 'creation_worker_slots', 'creation_job_audit')
      ) as counts,
      (select md5(string_agg(concat_ws('|', a.platform, a.platform_account_id, a.user_id, a.name,
                a.access_token_ciphertext, a.app_secret_ciphertext, a.token_validated_at),
              ',' order by a.platform, a.platform_account_id))
       from public.ad_accounts a) as accounts,
      (select md5(string_agg(m::text, ',' order by m::text)) from public.ad_account_members m)
        as members,
      (select md5(string_agg(l::text, ',' order by l.id)) from public.adrail_limits l) as limits,
      (select md5(coalesce(string_agg(r::text, ',' order by r::text), ''))
       from public.request_rate_limits r where r.subject_id <> ${userId}) as other_buckets,
      (select to_jsonb(j) from public.campaign_creation_jobs j where j.id = ${jobId}) as job`;
  const meta = await stack.sim("/__sim/state") as { accounts: unknown; objects: unknown };
  return { database, meta: { accounts: meta.accounts, objects: meta.objects } };
}

/** The first failures in full, and how many there were. */
function failures(problems: string[], of: number): string {
  return `${problems.length} of ${of} failed; the first:\n${problems.slice(0, 5).join("\n")}`;
}

type LoggedRequest = {
  method: string;
  url: string;
  status: number | null;
  items: { method: string }[];
};

testWithStack("request fuzz", async (t, stack) => {
  console.log(
    `request fuzz: seed ${seed}, ${casesPerRoute} cases per route (ADRAIL_FUZZ_SEED, ADRAIL_FUZZ_CASES)`,
  );
  const user = await stack.createUser();
  const bearer = await signLocalUserJwt(user);
  const { id: act } = await stack.connectAdAccount(user);
  const accountId = await accountIdOf(stack, act);
  const elsewhere = nextAdAccountId();
  await stack.sim("/__sim/accounts", { id: elsewhere, token: `EAAB-fuzz-${crypto.randomUUID()}` });
  const userActions: LimitAction[] = [
    "read",
    "connect",
    "launch",
    "sync",
    "job_action",
    "requested_entities",
  ];
  for (const action of userActions) await setLimit(stack, action, { userId: user }, 1e9, 60);
  for (const action of ["launch", "sync", "job_action"] as const) {
    await setLimit(stack, action, { adAccountId: accountId }, 0);
  }
  // A finished dry run to aim rollback decisions and verify requests at.
  const jobId = await stack.sql.begin(async (sql) => {
    const [job] = await sql<{ id: number }[]>`
      select (public.create_campaign_creation_job(${user}, ${accountId}, 'Fuzzed', 1, 1,
        '{}'::jsonb, 'fuzz', null, 'auto', 5, true)).id::int`;
    await sql`update public.campaign_creation_jobs set status = 'verifying' where id = ${job.id}`;
    await sql`update public.campaign_creation_jobs set status = 'completed' where id = ${job.id}`;
    return job.id;
  });

  const day = (daysAgo: number) =>
    new Date(Date.now() - daysAgo * 86_400_000).toISOString().slice(0, 10);
  const targets: FuzzTarget[] = [
    {
      name: "POST /ad-accounts",
      path: "ad-accounts",
      base: {
        platformAccountId: elsewhere,
        accessToken: "EAAB-fuzz-not-its-token",
        appSecret: "fuzz-app-secret",
      },
      shape: strict({
        platformAccountId: field(text),
        accessToken: field(text),
        appSecret: field(text, false),
      }),
    },
    {
      name: "POST /campaign-create",
      path: "campaign-create",
      base: {
        ...launchBody(act, "Fuzz launch", 2, 1),
        campaign: {
          name: "Fuzz launch",
          objective: "OUTCOME_SALES",
          status: "PAUSED",
          special_ad_categories: [],
          is_adset_budget_sharing_enabled: false,
        },
        adSets: { count: 2, template: { ...adSetTemplate, bid_amount: 100 } },
        rollbackPolicy: "confirm",
        retryBudget: 3,
        dryRun: false,
      },
      shape: strict({
        adAccountId: field(text),
        campaign: field(strict({
          name: field(text),
          objective: field(text),
          status: field(text, false),
          special_ad_categories: field({ kind: "array" }, false),
          is_adset_budget_sharing_enabled: field({ kind: "boolean" }, false),
        })),
        adSets: field(
          strict({ count: field({ kind: "number" }), template: field({ kind: "free" }) }),
        ),
        ads: field(strict({
          perAdSet: field({ kind: "number" }),
          template: field({ kind: "object", strict: false, fields: { creativeId: field(text) } }),
        })),
        rollbackPolicy: field(text, false),
        retryBudget: field({ kind: "number" }, false),
        dryRun: field({ kind: "boolean" }, false),
      }),
      checksAllText: true,
      idempotencyKey: true,
    },
    {
      name: "POST /campaign-create/jobs/:id/rollback",
      path: `campaign-create/jobs/${jobId}/rollback`,
      base: { confirm: true },
      shape: strict({ confirm: field({ kind: "boolean" }) }),
    },
    {
      name: "POST /campaign-create/jobs/:id/verify",
      path: `campaign-create/jobs/${jobId}/verify`,
      base: {},
      shape: strict({}),
      emptyBodyValid: true,
    },
    {
      name: "POST /campaign-create/jobs/:id/approve",
      path: `campaign-create/jobs/${jobId}/approve`,
      base: {},
      shape: strict({}),
      emptyBodyValid: true,
    },
    {
      name: "POST /campaign-create/jobs/:id/reject",
      path: `campaign-create/jobs/${jobId}/reject`,
      base: { reason: "wrong budget" },
      shape: strict({ reason: field(text) }),
    },
    {
      name: "POST /facebook-ads-sync",
      path: "facebook-ads-sync",
      base: { adAccountId: act, since: day(30), until: day(1) },
      shape: strict({
        adAccountId: field(text),
        since: field(text, false),
        until: field(text, false),
      }),
    },
  ];

  const before = await footprint(stack, user, jobId);
  const { requests: earlier } = await stack.sim("/__sim/requests") as { requests: unknown[] };
  const started = performance.now();
  const functions = await serveFunctionsInProcess([
    "ad-accounts",
    "campaign-create",
    "facebook-ads-sync",
  ]);
  const post = (base: string, target: FuzzTarget, fuzz: FuzzCase) =>
    send(base, target.path, { method: "POST", headers: fuzz.headers, body: fuzz.text }, bearer);
  /** The in-process answers to each route's first cases, to compare with the functions server's. */
  const firstAnswers = new Map<string, number[]>();
  try {
    for (const target of targets) {
      await t.step(`${target.name}: ${casesPerRoute} bodies, 4xx only`, async () => {
        const statuses: Record<number, number> = {};
        const first: number[] = [];
        const problems: string[] = [];
        await pooled(fuzzCases(target, seed, casesPerRoute), concurrency, async (fuzz) => {
          const sent = await post(functions.url, target, fuzz);
          statuses[sent.status] = (statuses[sent.status] ?? 0) + 1;
          if (fuzz.index < throughFunctionsServer) first[fuzz.index] = sent.status;
          const problem = problemWith(fuzz, sent);
          if (problem) problems.push(report(target.name, fuzz, sent, problem));
        });
        firstAnswers.set(target.name, first);
        console.log(`${target.name}: ${JSON.stringify(statuses)}`);
        assert.equal(problems.length, 0, failures(problems, casesPerRoute));
      });
    }

    await t.step(`routes: ${casesPerRoute} paths and methods`, async () => {
      const random = new Random(seed ^ hashOf("routes"));
      const routes = Array.from({ length: casesPerRoute }, () => fuzzRoute(random, jobId));
      const problems: string[] = [];
      await pooled(routes, concurrency, async ({ path, method }) => {
        const { status, text } = await send(functions.url, path, {
          method,
          body: method === "GET" ? undefined : JSON.stringify({ confirm: true }),
        }, bearer);
        // Only the reads answer 2xx: the job aimed at, the user's accounts.
        const read = method === "GET" && status < 300 &&
          (JSON.parse(text).jobId === jobId || Array.isArray(JSON.parse(text).accounts));
        const fine = status < 500 && (status >= 400 || read);
        if (!fine) {
          problems.push(
            `seed ${seed}, route ${method} ${JSON.stringify(path.slice(0, 200))}: ` +
              `${status} ${text.slice(0, 300)}`,
          );
        }
      });
      assert.equal(problems.length, 0, failures(problems, routes.length));
    });
  } finally {
    await functions.close();
  }
  console.log(`request fuzz: ${Math.round(performance.now() - started)} ms`);

  await t.step("the functions server answers the first cases alike", async () => {
    await Promise.all(targets.map(async (target) => {
      const served: number[] = [];
      for (const fuzz of fuzzCases(target, seed, throughFunctionsServer)) {
        served.push((await post(stack.functions.url, target, fuzz)).status);
      }
      assert.deepEqual(served, firstAnswers.get(target.name), target.name);
    }));
  });

  await t.step("nothing written, and Meta only read", async () => {
    assert.deepEqual(await footprint(stack, user, jobId), before);
    const { requests } = await stack.sim("/__sim/requests") as { requests: LoggedRequest[] };
    const writes = requests.slice(earlier.length).filter((r) =>
      r.status !== null && r.status < 300 &&
      !(r.method === "GET" || (r.items.length > 0 && r.items.every((i) => i.method === "GET")))
    );
    assert.deepEqual(writes, [], "Meta accepted no write");
  });
});
