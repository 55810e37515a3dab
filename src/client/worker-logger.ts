// The CLI's worker log: the SDK's default logger, less one warning that is by design here.
import { DefaultLogger, type LogLevel, type LogMetadata, type Logger } from '@temporalio/worker';

/** Each provider's activity-only worker (src/worker) has no workflows on purpose: the SDK warns about it once each. */
const BY_DESIGN = 'No workflows registered, not polling for workflow tasks';

export class WorkerLogger implements Logger {
  private readonly inner: DefaultLogger;

  constructor(level: LogLevel) {
    this.inner = new DefaultLogger(level);
  }

  log(level: LogLevel, message: string, meta?: LogMetadata): void {
    if (message !== BY_DESIGN) this.inner.log(level, message, meta);
  }
  trace(message: string, meta?: LogMetadata): void {
    this.log('TRACE', message, meta);
  }
  debug(message: string, meta?: LogMetadata): void {
    this.log('DEBUG', message, meta);
  }
  info(message: string, meta?: LogMetadata): void {
    this.log('INFO', message, meta);
  }
  warn(message: string, meta?: LogMetadata): void {
    this.log('WARN', message, meta);
  }
  error(message: string, meta?: LogMetadata): void {
    this.log('ERROR', message, meta);
  }
}
