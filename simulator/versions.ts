/**
 * Which Graph API versions the simulator serves, on its clock. One row per version with Meta's
 * release and retirement dates: the Graph API changelog, "Available Graph API Versions"
 * (https://developers.facebook.com/docs/graph-api/changelog/versions). A version is served from
 * its release until its retirement; one older than the table is retired; one the table does not
 * know, or not yet released, is unknown.
 * The Marketing API retires versions sooner (v21.0 expired 2025-09-09 there, v24.0 2026-11-10,
 * v25.0 2027-02-23: .../marketing-api/marketing-api-changelog/versions); this table follows the
 * Graph API's dates.
 */

import { dayOf } from "./clock.ts";
import { errors } from "./errors.ts";

interface GraphVersion {
  version: string;
  released: string;
  /** First day the version is no longer served; null while Meta says "TBD". */
  retires: string | null;
}

const VERSIONS: readonly GraphVersion[] = [
  { version: "v16.0", released: "2023-02-02", retires: "2025-05-14" },
  { version: "v17.0", released: "2023-05-23", retires: "2025-09-12" },
  { version: "v18.0", released: "2023-09-12", retires: "2026-01-26" },
  { version: "v19.0", released: "2024-01-23", retires: "2026-05-21" },
  { version: "v20.0", released: "2024-05-21", retires: "2026-09-24" },
  { version: "v21.0", released: "2024-10-02", retires: "2027-01-21" },
  { version: "v22.0", released: "2025-01-21", retires: "2027-05-20" },
  { version: "v23.0", released: "2025-05-29", retires: "2027-10-08" },
  { version: "v24.0", released: "2025-10-08", retires: "2028-02-18" },
  { version: "v25.0", released: "2026-02-18", retires: "2028-07-29" },
  { version: "v26.0", released: "2026-07-29", retires: null },
  { version: "v27.0", released: "2026-11-04", retires: null },
];

const VERSION_SEGMENT = /^\/(v\d+\.\d+)(?=\/|$)/;

/** The version prefix of a path ("/v21.0/act_1" → "v21.0"), or null for an unversioned path. */
export function versionOf(path: string): string | null {
  return VERSION_SEGMENT.exec(path)?.[1] ?? null;
}

/** The path without its version prefix. */
export function unversioned(path: string): string {
  return path.replace(VERSION_SEGMENT, "") || "/";
}

const major = (version: string) => Number(version.slice(1).split(".")[0]);
const released = (v: GraphVersion, day: string) => v.released <= day;
const retired = (v: GraphVersion, day: string) => v.retires !== null && v.retires <= day;

/** The versions served at `now`, oldest first. */
export function servedVersions(now: number): GraphVersion[] {
  const day = dayOf(now);
  return VERSIONS.filter((v) => released(v, day) && !retired(v, day));
}

/**
 * The version a call to `path` (unversioned) runs as: its own when served, else Meta's error.
 * Retired versions answer #2635 as the Ads API does ("You are calling a deprecated version of the
 * Ads API. Please update to the latest version: vNN.0.", seen in facebook-python-business-sdk
 * #356 and facebook-nodejs-business-sdk #239). A version Meta does not know reads as a node id
 * followed by unknown path components (code 2500, as koala #611 reports for a mistyped version).
 * An unversioned call runs as the oldest version served (Meta's versioning guide). Before v16.0's
 * release the table serves nothing: every call is an unknown path.
 */
export function resolveVersion(
  version: string | null,
  path: string,
  method: string,
  now: number,
): string {
  const day = dayOf(now);
  const served = servedVersions(now);
  const unknown = () =>
    path === "/" && version ? errors.objectMissing(version, method) : errors.unknownPath(path);
  if (served.length === 0) throw unknown();
  if (version === null) return served[0].version;
  const row = VERSIONS.find((v) => v.version === version);
  if (row && released(row, day) && !retired(row, day)) return version;
  if ((row && retired(row, day)) || (!row && major(version) < major(VERSIONS[0].version))) {
    throw errors.deprecatedVersion(served.at(-1)!.version);
  }
  throw unknown();
}

/** Whether `version` is `since` or later (both served versions from the table). */
export function atLeast(version: string, since: string): boolean {
  const index = (v: string) => VERSIONS.findIndex((row) => row.version === v);
  return index(version) >= index(since);
}
