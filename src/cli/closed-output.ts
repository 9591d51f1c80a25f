/**
 * `dcsync … | head`: when the reader of stdout goes away, the next write fails with EPIPE, and
 * an `error` event nobody listens to would crash the process with a stack trace. A closed stdout
 * means nobody wants the rest of the answer: the command ends quietly with exit code 0, whatever
 * the command (this is wired once, in main.ts). A closed stderr is ignored: there is nowhere left
 * to say anything. Any other stream error is raised as before.
 */
export function endQuietlyWhenOutputCloses(
  streams: { out: NodeJS.EventEmitter; err: NodeJS.EventEmitter },
  exit: (code: number) => void,
): void {
  streams.out.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    exit(0);
  });
  streams.err.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
  });
}
