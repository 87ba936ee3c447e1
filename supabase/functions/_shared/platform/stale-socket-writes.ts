// A guard for postgres.js on Deno's Node compatibility layer (Deno 2.1, the edge runtime's). The
// driver gathers a connection's small writes and flushes them from a setImmediate; a write of
// 1 KiB or more flushes at once and clears that immediate. Deno's clearImmediate is a
// clearTimeout, which cannot stop a timer already due in the same turn of the event loop, so the
// stale flush still runs, finds nothing left, and calls socket.write(null): an uncaught
// TypeError ("May not write null values to stream") that ends the whole isolate, every request
// in it included (denoland/deno#29262). It happened here under load, in the functions and in the
// bench's own process. A null write has nothing to send: it is answered as a write of nothing.
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
