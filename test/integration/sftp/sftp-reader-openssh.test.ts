import { describeSftpReaderContract } from '../../support/sftp-reader-contract.js';
import { startOpenSshServer } from '../../support/sftp-openssh-server.js';

// The real thing: Debian's sshd with internal-sftp, started by the test on a loopback high port.
describeSftpReaderContract('OpenSSH sshd', (clientKey) =>
  startOpenSshServer({ authorizedKeys: [clientKey.publicKey] }),
);
