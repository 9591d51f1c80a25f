/**
 * The logging surface the engine needs (pino's `Logger` satisfies it). Objects passed here must
 * hold ids and codes only; the logger's redaction is the second line of defence, not the first.
 */
export interface EngineLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** A logger that drops everything (tests that do not look at logs). */
export const silentLogger: EngineLogger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};
