// A guard for postgres.js on Deno's Node compatibility layer (Deno 2.1, the edge runtime's). The
// driver gathers a connection's small writes and flushes them from a setImmediate; a write of
// 1 KiB or more flushes at once and clears that immediate. Deno's clearImmediate is a
// clearTimeout, and the cleared flush can still run (most likely when the timer was already due in
// the same turn of the event loop): it finds nothing left and calls socket.write(null), an uncaught
// TypeError ("May not write null values to stream") out of a timer that ends the whole process or
// isolate, every request in it included (denoland/deno#29262). It happened here under load, in a
// profiling script beside the local stack and once in the bench. A null write has nothing to send
// (and the stale flush passes no callback): it is answered as a write of nothing.
import net from "node:net";

let installed = false;

/** Makes `socket.write(null)` on every node:net socket of this process a no-op; idempotent. */
export function ignoreStaleSocketWrites(): void {
  if (installed) return;
  installed = true;
  const write = net.Socket.prototype.write as (this: net.Socket, ...args: unknown[]) => boolean;
  net.Socket.prototype.write = function (this: net.Socket, ...args: unknown[]): boolean {
    if (args[0] === null) return true;
    return write.apply(this, args);
  } as typeof net.Socket.prototype.write;
}
