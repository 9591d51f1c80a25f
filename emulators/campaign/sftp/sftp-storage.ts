import { mkdirSync, mkdtempSync, realpathSync } from 'node:fs';
import { lstat, readdir, realpath, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** Folders every Campaign SFTP account of the integration has (campaign-api.md §1.4, §1.9). */
export const defaultSftpFolders = ['d365_loads/exports', 'd365_loads/archive'] as const;

/** Options of {@link SftpStorage}. */
export interface SftpStorageOptions {
  /** Directory on disk that is the SFTP root `/`. @default a new temp dir (`mkdtemp`) */
  rootDir?: string;
  /** Capacity of the account in bytes; writes beyond it fail like a full disk. @default 1 GiB */
  quotaBytes?: number;
  /** Folders created under the root at start. @default {@link defaultSftpFolders} */
  folders?: readonly string[];
}

/** What {@link SftpStorage.usage} reports: the Control Panel's view of the account. */
export interface SftpUsage {
  usedBytes: number;
  quotaBytes: number;
  /** usedBytes / quotaBytes × 100, one decimal. Control Panel turns orange above 80, red above 90. */
  percent: number;
}

/** Raised by {@link SftpStorage.reserve} when a write would exceed the quota. */
export class SftpQuotaExceededError extends Error {
  constructor(
    readonly requestedBytes: number,
    readonly usage: SftpUsage,
  ) {
    super(
      `SFTP quota exceeded: ${usage.usedBytes} of ${usage.quotaBytes} bytes used, ` +
        `a write of ${requestedBytes} more bytes does not fit (No space left on device)`,
    );
    this.name = 'SftpQuotaExceededError';
  }
}

/** Raised when a client path leaves the root (`..` above `/`, or a symlink pointing outside). */
export class SftpPathEscapeError extends Error {
  constructor(readonly virtualPath: string) {
    super(`Path outside the SFTP root: ${virtualPath}`);
    this.name = 'SftpPathEscapeError';
  }
}

const defaultQuotaBytes = 1024 * 1024 * 1024;

/**
 * The SFTP account's disk: a real directory jailed as `/`, with a byte quota. Shared by the SFTP
 * server (client writes) and the opt-out export workflow (Campaign's own writes), so both count
 * against the same capacity, as on the hosted server.
 */
export class SftpStorage {
  /** Absolute, symlink-free path of the root on disk. */
  readonly rootDir: string;
  readonly quotaBytes: number;
  /** True when the storage made its own temp root, which {@link destroy} then removes. */
  readonly isTemporary: boolean;
  /** Bytes known to be used; refreshed from disk by {@link usage} and when a reservation fails. */
  private usedBytes = 0;

  constructor(options: SftpStorageOptions = {}) {
    this.isTemporary = options.rootDir === undefined;
    const root = options.rootDir ?? mkdtempSync(path.join(tmpdir(), 'dcsync-campaign-sftp-'));
    mkdirSync(root, { recursive: true });
    this.rootDir = realpathSync(root);
    this.quotaBytes = options.quotaBytes ?? defaultQuotaBytes;
    if (!Number.isFinite(this.quotaBytes) || this.quotaBytes <= 0) {
      throw new RangeError('quotaBytes must be a positive number');
    }
    for (const folder of options.folders ?? defaultSftpFolders) {
      mkdirSync(this.toLocalPath(folder), { recursive: true });
    }
  }

  /**
   * Normalise a client path to the virtual absolute form (`/d365_loads/exports`). Relative paths are
   * relative to `/` (the login directory). A `..` that climbs above `/` is rejected rather than
   * clamped, so a client bug shows up as an error instead of silently touching another file.
   */
  toVirtualPath(clientPath: string): string {
    const segments: string[] = [];
    for (const segment of clientPath.split('/')) {
      if (segment === '' || segment === '.') continue;
      if (segment === '..') {
        if (segments.length === 0) throw new SftpPathEscapeError(clientPath);
        segments.pop();
      } else {
        segments.push(segment);
      }
    }
    return '/' + segments.join('/');
  }

  /** Map a client path to a path on disk, lexically jailed (see {@link toVirtualPath}). */
  toLocalPath(clientPath: string): string {
    return path.join(this.rootDir, ...this.toVirtualPath(clientPath).split('/').filter(Boolean));
  }

  /**
   * {@link toLocalPath}, and also refuse symlinks that lead outside the root: the deepest existing
   * ancestor of the target must resolve inside it.
   */
  async resolveLocalPath(clientPath: string): Promise<string> {
    const local = this.toLocalPath(clientPath);
    let probe = local;
    for (;;) {
      try {
        const real = await realpath(probe);
        if (real !== this.rootDir && !real.startsWith(this.rootDir + path.sep)) {
          throw new SftpPathEscapeError(clientPath);
        }
        return local;
      } catch (error) {
        if (error instanceof SftpPathEscapeError) throw error;
        if (!isErrnoCode(error, 'ENOENT') || probe === this.rootDir) throw error;
        probe = path.dirname(probe);
      }
    }
  }

  /** Remove the root from disk if this storage created it as a temp dir; a given root is kept. */
  async destroy(): Promise<void> {
    if (this.isTemporary) await rm(this.rootDir, { recursive: true, force: true });
  }

  /** Walk the root and report the bytes used by regular files. */
  async usage(): Promise<SftpUsage> {
    this.usedBytes = await sumFileSizes(this.rootDir);
    return this.describeUsage();
  }

  /** The last known usage without walking the disk. */
  describeUsage(): SftpUsage {
    return {
      usedBytes: this.usedBytes,
      quotaBytes: this.quotaBytes,
      percent: Math.round((this.usedBytes / this.quotaBytes) * 1000) / 10,
    };
  }

  /**
   * Claim `bytes` of growth before writing them; throws {@link SftpQuotaExceededError} when they do
   * not fit. The cached figure can be stale high after deletes, so a refusal re-measures first.
   */
  async reserve(bytes: number): Promise<void> {
    if (bytes <= 0) return;
    if (this.usedBytes + bytes > this.quotaBytes) {
      await this.usage();
      if (this.usedBytes + bytes > this.quotaBytes)
        throw new SftpQuotaExceededError(bytes, this.describeUsage());
    }
    this.usedBytes += bytes;
  }
}

async function sumFileSizes(dir: string): Promise<number> {
  let total = 0;
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (error) {
    if (isErrnoCode(error, 'ENOENT')) return 0;
    throw error;
  }
  for (const entry of entries) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) total += await sumFileSizes(full);
    else if (entry.isFile()) {
      try {
        total += (await lstat(full)).size;
      } catch (error) {
        if (!isErrnoCode(error, 'ENOENT')) throw error;
      }
    }
  }
  return total;
}

/** True when `error` is a Node system error with the given errno code. */
export function isErrnoCode(error: unknown, code: string): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === code;
}
