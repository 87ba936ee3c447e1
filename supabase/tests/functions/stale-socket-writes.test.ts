// The guard for postgres.js's stale flush on Deno (platform/stale-socket-writes.ts): a write of
// nothing no longer throws out of a timer and ends the process; writes of something still go out.
import assert from "node:assert/strict";
import net from "node:net";
import { ignoreStaleSocketWrites } from "../../functions/_shared/platform/stale-socket-writes.ts";

/** node:net's own write, taken before anything in this process installs the guard. */
const unguardedWrite = net.Socket.prototype.write;

/** A connected client socket and the server's end of it, over loopback. */
async function socketPair(): Promise<{ client: net.Socket; server: net.Socket; close(): void }> {
  const listener = net.createServer();
  await new Promise<void>((resolve) => listener.listen(0, "127.0.0.1", resolve));
  const accepted = new Promise<net.Socket>((resolve) => listener.once("connection", resolve));
  const { port } = listener.address() as net.AddressInfo;
  const client = net.connect(port, "127.0.0.1");
  await new Promise((resolve) => client.once("connect", resolve));
  const server = await accepted;
  return {
    client,
    server,
    close() {
      client.destroy();
      server.destroy();
      listener.close();
    },
  };
}

Deno.test("a stale flush's write of nothing does not throw, and writes of something still arrive", async () => {
  const { client, server, close } = await socketPair();
  try {
    assert.throws(
      () => unguardedWrite.call(client, null as unknown as string),
      /May not write null values to stream/,
    );
    ignoreStaleSocketWrites();
    assert.equal(client.write(null as unknown as string), true);
    const received = new Promise<string>((resolve) =>
      server.once("data", (d) => resolve(String(d)))
    );
    client.write("still written");
    assert.equal(await received, "still written");
  } finally {
    close();
  }
});
