// Structured logs, one JSON object a line. Never pass a token or request body here: fields are
// logged as given, except that values under secret-looking keys are replaced.

type Level = "info" | "warn" | "error";
export type LogFields = Record<string, unknown>;

const secretKey = /token|secret|authorization|password|apikey|proof/i;

function redact(fields: LogFields): LogFields {
  return Object.fromEntries(
    Object.entries(fields).map(([key, value]) => [key, secretKey.test(key) ? "[redacted]" : value]),
  );
}

function write(level: Level, message: string, fields: LogFields): void {
  const line = JSON.stringify({
    level,
    time: new Date().toISOString(),
    message,
    ...redact(fields),
  });
  if (level === "error") console.error(line);
  else console.log(line);
}

export const log = {
  info: (message: string, fields: LogFields = {}) => write("info", message, fields),
  warn: (message: string, fields: LogFields = {}) => write("warn", message, fields),
  error: (message: string, fields: LogFields = {}) => write("error", message, fields),
};
