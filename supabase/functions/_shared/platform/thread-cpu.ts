// A thread's CPU time from Linux's /proc: what an edge runtime's CPU limit counts (the thread's,
// not the process's). Supabase's runtime does not let a function read /proc: callers there get
// the error and fall back (platform/run-budget.ts); the local runtime measures its isolates with
// it (dev/functions-server.ts).

/**
 * CPU time (user + system) in ms of a thread of this process: `thread-self` (the caller's) or
 * `<pid>/task/<tid>`, from /proc/<thread>/stat (fields 14 and 15, in clock ticks of 10 ms).
 * Throws where /proc cannot be read.
 */
export function threadCpuMs(thread = "thread-self"): number {
  const stat = Deno.readTextFileSync(`/proc/${thread}/stat`);
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10;
}
