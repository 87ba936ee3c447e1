// The Graph error classifier and the backoff schedule: pure functions, tested as such.
import assert from "node:assert/strict";
import {
  classifyGraphResponse,
  classifyNetworkFailure,
  regainAccessMs,
  usageOf,
} from "../../functions/_shared/meta/graph-errors.ts";
import { usageMoved } from "../../functions/_shared/meta/meta-usage.ts";
import { backoffDelayMs, keyedJitter } from "../../functions/_shared/meta/retry.ts";
import { jobBackoff } from "../../functions/_shared/creation/failure-policy.ts";

const noHeaders = new Headers();

Deno.test("rate-limit codes are RATE_LIMIT, with the wait Meta reports in its usage headers", () => {
  for (const code of [4, 17, 32, 613, 80000, 80004, 80014]) {
    assert.equal(
      classifyGraphResponse(400, { code }, noHeaders).class,
      "RATE_LIMIT",
      `code ${code}`,
    );
  }
  const headers = new Headers({
    "x-business-use-case-usage": JSON.stringify({
      "123": [{ type: "ads_management", call_count: 100, estimated_time_to_regain_access: 27 }],
    }),
  });
  const error = classifyGraphResponse(400, { code: 80004 }, headers);
  assert.equal(error.retryAfterMs, 27 * 60_000);
  assert.equal(
    regainAccessMs(new Headers({ "x-ad-account-usage": '{"reset_time_duration": 90}' })),
    90_000,
  );
  assert.equal(
    classifyGraphResponse(400, { code: 17 }, noHeaders).retryAfterMs,
    60_000,
    "default wait",
  );
});

Deno.test("transient and server errors are TEMPORARY; token, permission and parameter errors PERMANENT", () => {
  assert.equal(classifyGraphResponse(500, { code: 1 }, noHeaders).class, "TEMPORARY");
  assert.equal(classifyGraphResponse(400, { code: 2 }, noHeaders).class, "TEMPORARY");
  assert.equal(
    classifyGraphResponse(400, { code: 100, is_transient: true }, noHeaders).class,
    "TEMPORARY",
  );
  assert.equal(classifyGraphResponse(503, undefined, noHeaders).class, "TEMPORARY");
  for (const code of [100, 190, 10, 200, 294]) {
    assert.equal(
      classifyGraphResponse(400, { code }, noHeaders).class,
      "PERMANENT",
      `code ${code}`,
    );
  }
});

Deno.test("a lost answer to a write is UNKNOWN_OUTCOME; to a read, or a refused connection, TEMPORARY", () => {
  const reset = new TypeError("error sending request: connection closed before message completed");
  assert.equal(classifyNetworkFailure(reset, true).class, "UNKNOWN_OUTCOME");
  assert.equal(classifyNetworkFailure(reset, false).class, "TEMPORARY");
  const refused = new TypeError(
    "error sending request: tcp connect error: Connection refused (os error 111)",
  );
  assert.equal(classifyNetworkFailure(refused, true).class, "TEMPORARY");
});

Deno.test("a timeout is a lost answer: UNKNOWN_OUTCOME for a write, TEMPORARY for a read", () => {
  const timedOut = new DOMException("Signal timed out.", "TimeoutError");
  assert.deepEqual(classifyNetworkFailure(timedOut, true, 30_000), {
    class: "UNKNOWN_OUTCOME",
    message: "no answer from the Graph API: timed out after 30000 ms",
  });
  assert.equal(classifyNetworkFailure(timedOut, false, 20_000).class, "TEMPORARY");
});

Deno.test("job backoff has full jitter under 1, 2, 4, 8, 16 s ceilings", () => {
  const ceilings = [0, 1, 2, 3, 4, 5].map((attempt) =>
    backoffDelayMs(attempt, jobBackoff, () => 0.999999)
  );
  assert.deepEqual(ceilings, [999, 1999, 3999, 7999, 15999, 15999]);
  assert.equal(backoffDelayMs(3, jobBackoff, () => 0), 0);
});

Deno.test("a network failure's message never carries the URL (its query holds appsecret_proof)", () => {
  const failure = new TypeError(
    "error sending request for url (https://graph.facebook.com/v21.0/act_1?fields=name&appsecret_proof=abc123): connection closed",
  );
  const { message } = classifyNetworkFailure(failure, false);
  assert.doesNotMatch(message, /appsecret_proof|abc123|graph\.facebook\.com/);
  assert.match(message, /<url>.*connection closed/);
});

Deno.test("keyed jitter: the same job and attempt wait the same, others differ", () => {
  const wait = (key: string) => backoffDelayMs(3, jobBackoff, keyedJitter(key));
  assert.equal(wait("17:3"), wait("17:3"));
  const waits = new Set(["1:3", "2:3", "3:3", "4:3", "5:3"].map(wait));
  assert.ok(waits.size >= 4, "different jobs spread apart");
  assert.ok([...waits].every((ms) => ms >= 0 && ms < 8000), "within the 8 s ceiling of attempt 3");
});

Deno.test("usage percentages: the highest figure of each header, null where one is missing", () => {
  const headers = new Headers({
    "x-app-usage": '{"call_count": 12, "total_cputime": 30, "total_time": 7}',
    "x-ad-account-usage": '{"acc_id_util_pct": 41.5, "reset_time_duration": 0}',
    "x-business-use-case-usage": JSON.stringify({
      "123": [
        { type: "ads_management", call_count: 20, total_cputime: 5, total_time: 64 },
        { type: "ads_insights", call_count: 70, total_cputime: 1, total_time: 1 },
      ],
    }),
  });
  assert.deepEqual(usageOf(headers), { appPct: 30, accountPct: 41.5, businessPct: 70 });
  assert.deepEqual(
    usageOf(new Headers({ "x-ad-account-usage": '{"acc_id_util_pct": 3}' })),
    { appPct: null, accountPct: 3, businessPct: null },
  );
  assert.equal(usageOf(noHeaders), undefined);
  assert.equal(usageOf(new Headers({ "x-app-usage": "not json" })), undefined);
});

Deno.test("usage is stored again once a percentage moved by 5 points", () => {
  const last = { appPct: 10, accountPct: 40, businessPct: null };
  assert.equal(usageMoved(last, { appPct: 14, accountPct: 36, businessPct: null }), false);
  assert.equal(usageMoved(last, { appPct: 10, accountPct: 45, businessPct: null }), true);
  assert.equal(usageMoved(last, { appPct: 10, accountPct: 40, businessPct: 1 }), true);
  assert.equal(usageMoved(last, { appPct: null, accountPct: null, businessPct: null }), false);
});
