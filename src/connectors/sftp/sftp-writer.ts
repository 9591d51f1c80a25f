import { createHash } from 'node:crypto';
import path from 'node:path/posix';
import type { ConnectorError } from '../../core/errors.js';
import { createSftpError } from './sftp-error.js';
import { SftpReader, type OpenConnection } from './sftp-reader.js';

/** Options of {@link SftpWriter.upload}. */
export interface SftpUploadOptions {
  /** Write requests kept in flight, so latency does not bound throughput. @default 8 */
  concurrency?: number;
  /** Largest single write request; bigger chunks are split. @default 32768 */
  writeSize?: number;
  /** Replace an existing file at the final path (removed just before the rename). @default false */
  overwrite?: boolean;
}

/** What an upload wrote. */
export interface SftpUploadResult {
  /** The final path. */
  path: string;
  bytes: number;
  /** SHA-256 of the bytes as streamed, hex. */
  sha256: string;
}

/**
 * The SFTP client for files dcsync writes to the Campaign account (bulk-load CSVs): everything the
 * {@link SftpReader} does (list, stat, download the reject files, rename, remove; same strict
 * host-key pinning and one reconnecting connection), plus a streaming upload that never exposes a
 * partial file under its final name: bytes go to `.<name>.part` in the same folder, the SHA-256 is
 * computed while streaming, and only a complete, closed file is renamed into place (SFTP renames
 * are atomic on the server's file system and never overwrite).
 */
export class SftpWriter extends SftpReader {
  /** The temporary name an upload of `finalPath` writes to. */
  static temporaryPathOf(finalPath: string): string {
    return path.join(path.dirname(finalPath), `.${path.basename(finalPath)}.part`);
  }

  /**
   * Stream `source` to `finalPath`. Memory stays bounded by `concurrency × writeSize` (the source
   * is not read ahead of the writes). An existing final file fails with `SFTP_ALREADY_EXISTS`
   * unless `overwrite`; on any failure the temporary file is removed (best effort).
   */
  async upload(
    source: AsyncIterable<Uint8Array>,
    finalPath: string,
    options: SftpUploadOptions = {},
  ): Promise<SftpUploadResult> {
    const concurrency = Math.max(1, options.concurrency ?? 8);
    const writeSize = Math.max(1, options.writeSize ?? 32 * 1024);
    const temporary = SftpWriter.temporaryPathOf(finalPath);
    if (!options.overwrite && (await this.statIfExists(finalPath)) !== null)
      throw createSftpError(
        'SFTP_ALREADY_EXISTS',
        `SFTP upload to ${finalPath} on ${this.endpoint}: the file exists already`,
      );
    const connection = await this.session();
    const handle = await this.call<Buffer>(connection, `open ${temporary}`, (cb) =>
      connection.sftp.open(temporary, 'w', cb),
    );
    const hash = createHash('sha256');
    const inFlight = new Set<Promise<void>>();
    const outcome: { failure: Error | null } = { failure: null };
    let offset = 0;
    let closed = false;
    try {
      for await (const chunk of source) {
        hash.update(chunk);
        for (let start = 0; start < chunk.length; start += writeSize) {
          const piece = Buffer.from(
            chunk.buffer,
            chunk.byteOffset + start,
            Math.min(writeSize, chunk.length - start),
          );
          const write = this.writeFully(connection, handle, piece, offset, temporary).catch(
            (error: unknown) => {
              outcome.failure ??= error instanceof Error ? error : new Error(String(error));
            },
          );
          offset += piece.length;
          inFlight.add(write);
          void write.finally(() => inFlight.delete(write));
          if (inFlight.size >= concurrency) await Promise.race(inFlight);
          if (outcome.failure !== null) throw outcome.failure;
        }
      }
      await Promise.all(inFlight);
      if (outcome.failure !== null) throw outcome.failure;
      closed = true;
      await this.call(connection, `close ${temporary}`, (cb) => connection.sftp.close(handle, cb));
      if (options.overwrite && (await this.statIfExists(finalPath)) !== null) await this.remove(finalPath);
      await this.rename(temporary, finalPath);
      return { path: finalPath, bytes: offset, sha256: hash.digest('hex') };
    } catch (error) {
      await Promise.allSettled(inFlight);
      if (!closed && !connection.closed)
        await this.call(connection, `close ${temporary}`, (cb) => connection.sftp.close(handle, cb)).catch(
          () => undefined,
        );
      await this.remove(temporary).catch(() => undefined);
      throw error as ConnectorError;
    }
  }

  /** Read a whole (small) remote file as UTF-8 text, refusing files above `maxBytes`. */
  async readText(filePath: string, maxBytes = 16 * 1024 * 1024): Promise<string> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of this.download(filePath)) {
      size += chunk.length;
      if (size > maxBytes)
        throw createSftpError(
          'SFTP_FAILURE',
          `SFTP read ${filePath} on ${this.endpoint}: larger than ${maxBytes} bytes`,
        );
      chunks.push(chunk);
    }
    return Buffer.concat(chunks).toString('utf8');
  }

  /** Write `data` at `offset`, looping over short writes the server may acknowledge. */
  private async writeFully(
    connection: OpenConnection,
    handle: Buffer,
    data: Buffer,
    offset: number,
    filePath: string,
  ): Promise<void> {
    await this.call<void>(connection, `write ${filePath}`, (cb) =>
      connection.sftp.write(handle, data, 0, data.length, offset, (error) => cb(error)),
    );
  }
}
