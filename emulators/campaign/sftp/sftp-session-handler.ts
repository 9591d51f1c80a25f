import { constants as fsConstants, type Stats } from 'node:fs';
import {
  lstat,
  mkdir,
  open,
  opendir,
  rename,
  rmdir,
  stat,
  unlink,
  utimes,
  type FileHandle,
} from 'node:fs/promises';
import path from 'node:path';
import ssh2 from 'ssh2';
import type { Attributes, FileEntry, SFTPWrapper } from 'ssh2';
import {
  SftpPathEscapeError,
  SftpQuotaExceededError,
  isErrnoCode,
  type SftpStorage,
} from './sftp-storage.js';

const { OPEN_MODE, STATUS_CODE } = ssh2.utils.sftp;

/** Largest READ answer; SFTP lets a server return fewer bytes than asked, and clients loop. */
const maxReadBytes = 64 * 1024;
/** Names per READDIR answer, as OpenSSH's sftp-server sends at most 100. */
const namesPerReaddir = 100;

type OpenHandle =
  | { kind: 'file'; file: FileHandle; append: boolean; size: number }
  | { kind: 'dir'; localPath: string; pending: FileEntry[] | null };

/**
 * Answer one SFTP session's requests against the jailed storage. Requests are independent and may
 * complete out of order; each answer carries its request id, as the protocol allows.
 */
export function serveSftpSession(sftp: SFTPWrapper, storage: SftpStorage): void {
  const handles = new Map<number, OpenHandle>();
  let nextHandle = 1;

  const allocate = (entry: OpenHandle): Buffer => {
    const id = nextHandle++;
    handles.set(id, entry);
    const buffer = Buffer.alloc(4);
    buffer.writeUInt32BE(id);
    return buffer;
  };
  const lookup = (handle: Buffer): [number, OpenHandle | undefined] => {
    const id = handle.length === 4 ? handle.readUInt32BE(0) : -1;
    return [id, handles.get(id)];
  };
  const run = (reqid: number, work: () => Promise<void>): void => {
    work().catch((error: unknown) => {
      try {
        answerError(sftp, reqid, error);
      } catch {
        // The channel is already gone; there is nobody left to answer.
      }
    });
  };
  const badHandle = (reqid: number): void => {
    sftp.status(reqid, STATUS_CODE.FAILURE, 'Invalid handle');
  };

  sftp.on('OPEN', (reqid, filename, flags) =>
    run(reqid, async () => {
      const localPath = await storage.resolveLocalPath(filename);
      const file = await open(localPath, toFsOpenFlags(flags), 0o644);
      try {
        const info = await file.stat();
        if (info.isDirectory()) throw Object.assign(new Error('Is a directory'), { code: 'EISDIR' });
        sftp.handle(
          reqid,
          allocate({ kind: 'file', file, append: (flags & OPEN_MODE.APPEND) !== 0, size: info.size }),
        );
      } catch (error) {
        await file.close();
        throw error;
      }
    }),
  );

  sftp.on('READ', (reqid, handle, offset, length) =>
    run(reqid, async () => {
      const [, entry] = lookup(handle);
      if (entry?.kind !== 'file') return badHandle(reqid);
      const buffer = Buffer.alloc(Math.min(length, maxReadBytes));
      const { bytesRead } = await entry.file.read(buffer, 0, buffer.length, offset);
      if (bytesRead === 0) sftp.status(reqid, STATUS_CODE.EOF);
      else sftp.data(reqid, buffer.subarray(0, bytesRead));
    }),
  );

  sftp.on('WRITE', (reqid, handle, offset, data) =>
    run(reqid, async () => {
      const [, entry] = lookup(handle);
      if (entry?.kind !== 'file') return badHandle(reqid);
      const end = entry.append ? entry.size + data.length : offset + data.length;
      await storage.reserve(Math.max(0, end - entry.size));
      // In append mode the position is ignored by the OS, matching SFTP's APPEND semantics.
      await entry.file.write(data, 0, data.length, entry.append ? null : offset);
      entry.size = Math.max(entry.size, end);
      sftp.status(reqid, STATUS_CODE.OK);
    }),
  );

  sftp.on('FSTAT', (reqid, handle) =>
    run(reqid, async () => {
      const [, entry] = lookup(handle);
      if (entry === undefined) return badHandle(reqid);
      const info = entry.kind === 'file' ? await entry.file.stat() : await stat(entry.localPath);
      sftp.attrs(reqid, toAttributes(info));
    }),
  );

  sftp.on('FSETSTAT', (reqid, handle, attrs) =>
    run(reqid, async () => {
      const [, entry] = lookup(handle);
      if (entry === undefined) return badHandle(reqid);
      if (entry.kind === 'file' && attrs.mtime !== undefined) {
        await entry.file.utimes(attrs.atime ?? attrs.mtime, attrs.mtime);
      }
      sftp.status(reqid, STATUS_CODE.OK);
    }),
  );

  sftp.on('CLOSE', (reqid, handle) =>
    run(reqid, async () => {
      const [id, entry] = lookup(handle);
      if (entry === undefined) return badHandle(reqid);
      handles.delete(id);
      if (entry.kind === 'file') await entry.file.close();
      sftp.status(reqid, STATUS_CODE.OK);
    }),
  );

  sftp.on('OPENDIR', (reqid, dirPath) =>
    run(reqid, async () => {
      const localPath = await storage.resolveLocalPath(dirPath);
      // opendir fails with ENOTDIR/ENOENT exactly where a real server would.
      const dir = await opendir(localPath);
      await dir.close();
      sftp.handle(reqid, allocate({ kind: 'dir', localPath, pending: null }));
    }),
  );

  sftp.on('READDIR', (reqid, handle) =>
    run(reqid, async () => {
      const [, entry] = lookup(handle);
      if (entry?.kind !== 'dir') return badHandle(reqid);
      entry.pending ??= await listDirectory(entry.localPath);
      if (entry.pending.length === 0) return sftp.status(reqid, STATUS_CODE.EOF);
      sftp.name(reqid, entry.pending.splice(0, namesPerReaddir));
    }),
  );

  const answerStat = (reqid: number, clientPath: string, statFn: (p: string) => Promise<Stats>): void =>
    run(reqid, async () => {
      sftp.attrs(reqid, toAttributes(await statFn(await storage.resolveLocalPath(clientPath))));
    });
  sftp.on('STAT', (reqid, clientPath) => answerStat(reqid, clientPath, stat));
  sftp.on('LSTAT', (reqid, clientPath) => answerStat(reqid, clientPath, lstat));

  sftp.on('SETSTAT', (reqid, clientPath, attrs) =>
    run(reqid, async () => {
      const localPath = await storage.resolveLocalPath(clientPath);
      if (attrs.mtime !== undefined) await utimes(localPath, attrs.atime ?? attrs.mtime, attrs.mtime);
      else await stat(localPath);
      sftp.status(reqid, STATUS_CODE.OK);
    }),
  );

  sftp.on('REMOVE', (reqid, clientPath) =>
    run(reqid, async () => {
      await unlink(await storage.resolveLocalPath(clientPath));
      sftp.status(reqid, STATUS_CODE.OK);
    }),
  );

  sftp.on('RMDIR', (reqid, clientPath) =>
    run(reqid, async () => {
      await rmdir(await storage.resolveLocalPath(clientPath));
      sftp.status(reqid, STATUS_CODE.OK);
    }),
  );

  sftp.on('MKDIR', (reqid, clientPath) =>
    run(reqid, async () => {
      await mkdir(await storage.resolveLocalPath(clientPath));
      sftp.status(reqid, STATUS_CODE.OK);
    }),
  );

  sftp.on('RENAME', (reqid, fromPath, toPath) =>
    run(reqid, async () => {
      const from = await storage.resolveLocalPath(fromPath);
      const to = await storage.resolveLocalPath(toPath);
      // SFTP v3 RENAME does not overwrite; OpenSSH answers FAILURE when the target exists.
      if (await pathExists(to)) throw Object.assign(new Error('File exists'), { code: 'EEXIST' });
      await rename(from, to);
      sftp.status(reqid, STATUS_CODE.OK);
    }),
  );

  sftp.on('REALPATH', (reqid, clientPath) =>
    run(reqid, () => {
      const virtual = storage.toVirtualPath(clientPath);
      sftp.name(reqid, [{ filename: virtual, longname: virtual, attrs: {} as Attributes }]);
      return Promise.resolve();
    }),
  );

  const closeAll = (): void => {
    for (const entry of handles.values()) {
      if (entry.kind === 'file') void entry.file.close().catch(() => undefined);
    }
    handles.clear();
  };
  sftp.on('close', closeAll);
  sftp.on('end', closeAll);
  sftp.on('error', closeAll);
}

function toFsOpenFlags(flags: number): number {
  const read = (flags & OPEN_MODE.READ) !== 0;
  const write = (flags & OPEN_MODE.WRITE) !== 0 || (flags & OPEN_MODE.APPEND) !== 0;
  let result = read && write ? fsConstants.O_RDWR : write ? fsConstants.O_WRONLY : fsConstants.O_RDONLY;
  if ((flags & OPEN_MODE.CREAT) !== 0) result |= fsConstants.O_CREAT;
  if ((flags & OPEN_MODE.TRUNC) !== 0) result |= fsConstants.O_TRUNC;
  if ((flags & OPEN_MODE.EXCL) !== 0) result |= fsConstants.O_EXCL;
  if ((flags & OPEN_MODE.APPEND) !== 0) result |= fsConstants.O_APPEND;
  return result;
}

function toAttributes(info: Stats): Attributes {
  return {
    mode: info.mode,
    uid: info.uid,
    gid: info.gid,
    size: info.size,
    atime: Math.floor(info.atimeMs / 1000),
    mtime: Math.floor(info.mtimeMs / 1000),
  };
}

async function listDirectory(localPath: string): Promise<FileEntry[]> {
  const entries: FileEntry[] = [];
  for (const name of ['.', '..']) {
    const info = await stat(name === '.' ? localPath : path.dirname(localPath));
    entries.push({ filename: name, longname: formatLongname(name, info), attrs: toAttributes(info) });
  }
  const dir = await opendir(localPath);
  for await (const dirent of dir) {
    try {
      const info = await lstat(path.join(localPath, dirent.name));
      entries.push({
        filename: dirent.name,
        longname: formatLongname(dirent.name, info),
        attrs: toAttributes(info),
      });
    } catch (error) {
      // Removed between listing and stat: skip it, as readdir would not have seen it a moment later.
      if (!isErrnoCode(error, 'ENOENT')) throw error;
    }
  }
  return entries;
}

const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'] as const;

/** `ls -l` style line; clients show it to humans and must not parse it. */
function formatLongname(name: string, info: Stats): string {
  const type = info.isDirectory() ? 'd' : info.isSymbolicLink() ? 'l' : '-';
  let permissions = '';
  for (let shift = 6; shift >= 0; shift -= 3) {
    const bits = (info.mode >> shift) & 7;
    permissions += (bits & 4 ? 'r' : '-') + (bits & 2 ? 'w' : '-') + (bits & 1 ? 'x' : '-');
  }
  const date = info.mtime;
  const when = `${months[date.getUTCMonth()]} ${String(date.getUTCDate()).padStart(2, ' ')} ${String(
    date.getUTCHours(),
  ).padStart(2, '0')}:${String(date.getUTCMinutes()).padStart(2, '0')}`;
  return `${type}${permissions}    1 ${info.uid} ${info.gid} ${String(info.size).padStart(12)} ${when} ${name}`;
}

async function pathExists(localPath: string): Promise<boolean> {
  try {
    await lstat(localPath);
    return true;
  } catch (error) {
    if (isErrnoCode(error, 'ENOENT')) return false;
    throw error;
  }
}

function answerError(sftp: SFTPWrapper, reqid: number, error: unknown): void {
  if (error instanceof SftpPathEscapeError)
    return void sftp.status(reqid, STATUS_CODE.PERMISSION_DENIED, error.message);
  if (error instanceof SftpQuotaExceededError)
    return void sftp.status(reqid, STATUS_CODE.FAILURE, error.message);
  const code = (error as { code?: unknown }).code;
  switch (code) {
    case 'ENOENT':
    case 'ENOTDIR':
      return void sftp.status(reqid, STATUS_CODE.NO_SUCH_FILE, 'No such file');
    case 'EACCES':
    case 'EPERM':
      return void sftp.status(reqid, STATUS_CODE.PERMISSION_DENIED, 'Permission denied');
    case 'EEXIST':
      return void sftp.status(reqid, STATUS_CODE.FAILURE, 'File exists');
    case 'EISDIR':
      return void sftp.status(reqid, STATUS_CODE.FAILURE, 'Is a directory');
    case 'ENOTEMPTY':
      return void sftp.status(reqid, STATUS_CODE.FAILURE, 'Directory not empty');
    case 'ENOSPC':
    case 'EDQUOT':
      return void sftp.status(reqid, STATUS_CODE.FAILURE, 'No space left on device');
    default:
      return void sftp.status(reqid, STATUS_CODE.FAILURE, 'Failure');
  }
}
