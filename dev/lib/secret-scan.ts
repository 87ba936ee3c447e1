// After the test command: every response body the functions answered and every line they logged
// during the whole suite (recorded under ADRAIL_TRAFFIC_DIR by the functions servers the tests
// start), and the tests' own output, searched for a secret. The tests' secrets have recognizable
// shapes: Meta access tokens start with EAAB (as Meta's do), app secrets with app-secret-, and the
// local stack's keys are fixed. A hit names the file and shows the line with the secret masked.
import { localCronSecret, localJwtSecret, localTokenEncryptionKey } from "./local-env.ts";

export type SecretHit = { source: string; kind: string; excerpt: string };

const patterns: { kind: string; pattern: RegExp }[] = [
  { kind: "Meta access token", pattern: /EAAB[A-Za-z0-9_-]{6,}/g },
  { kind: "app secret", pattern: /\bapp-secret-[A-Za-z0-9-]+|the-app-secret-of-adrail/g },
  ...[
    ["token encryption key", localTokenEncryptionKey],
    ["JWT secret", localJwtSecret],
    ["cron secret", localCronSecret],
  ].map(([kind, value]) => ({ kind, pattern: new RegExp(literally(value), "g") })),
];

/** `text` as a pattern that matches only itself. */
function literally(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** Every secret found in `text`, with `source` naming where it came from. */
export function findSecrets(source: string, text: string): SecretHit[] {
  const hits: SecretHit[] = [];
  for (const line of text.split("\n")) {
    for (const { kind, pattern } of patterns) {
      for (const match of line.matchAll(pattern)) {
        const at = match.index ?? 0;
        const excerpt = line.slice(Math.max(0, at - 80), at) + `<${kind}>` +
          line.slice(at + match[0].length, at + match[0].length + 80);
        hits.push({ source, kind, excerpt });
      }
    }
  }
  return hits;
}

/** Every secret in the files of `dir` (the functions' recorded answers and logs). */
export async function scanTrafficDir(dir: string): Promise<{ files: number; hits: SecretHit[] }> {
  const hits: SecretHit[] = [];
  let files = 0;
  for await (const entry of Deno.readDir(dir)) {
    if (!entry.isFile) continue;
    files++;
    hits.push(...findSecrets(entry.name, await Deno.readTextFile(`${dir}/${entry.name}`)));
  }
  return { files, hits };
}
