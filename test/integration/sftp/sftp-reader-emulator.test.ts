import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startSftpServer, type SftpServerHandle } from '../../../emulators/campaign/sftp/sftp-server.js';
import { describeSftpReaderContract, type SftpContractServer } from '../../support/sftp-reader-contract.js';
import { generateSftpTestKeyPair } from '../../support/sftp-test-keys.js';

describeSftpReaderContract('the Campaign SFTP emulator', async (clientKey): Promise<SftpContractServer> => {
  const rootDir = mkdtempSync(path.join(tmpdir(), 'dcsync-sftp-contract-'));
  const users = [{ username: 'campaign', publicKeys: [clientKey.publicKey] }];
  let server: SftpServerHandle = await startSftpServer({
    rootDir,
    users,
    hostKey: generateSftpTestKeyPair('host').privateKey,
  });
  return {
    host: server.host,
    port: server.port,
    username: 'campaign',
    rootDir: server.rootDir,
    get hostKeySha256() {
      return server.hostKeySha256;
    },
    restartWithNewHostKey: async () => {
      const port = server.port;
      await server.close();
      server = await startSftpServer({
        rootDir,
        users,
        port,
        hostKey: generateSftpTestKeyPair('host').privateKey,
      });
    },
    close: async () => {
      await server.close();
      rmSync(rootDir, { recursive: true, force: true });
    },
  };
});
