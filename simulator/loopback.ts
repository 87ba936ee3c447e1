/**
 * The local stack serves this machine only: the simulator's open control API, the functions
 * server with its fixed local secrets and the trust-auth Postgres listen on loopback addresses,
 * and its fixed secrets go only into a database on one.
 */

const loopback = /^(localhost|127(\.\d{1,3}){3}|::1)$/i;

/** 127.0.0.0/8, ::1 or localhost. */
export function isLoopback(host: string): boolean {
  return loopback.test(host);
}
