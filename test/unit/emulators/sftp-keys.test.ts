import ssh2 from 'ssh2';
import { describe, expect, it } from 'vitest';
import { generateEd25519KeyPair } from '../../../emulators/campaign/sftp/sftp-host-key.js';

describe('generateEd25519KeyPair', () => {
  it('never returns a pair ssh2 cannot read (its generator truncates about 1 key in 300)', () => {
    for (let i = 0; i < 2000; i++) {
      const pair = generateEd25519KeyPair('test');
      expect(ssh2.utils.parseKey(pair.public)).not.toBeInstanceOf(Error);
      expect(ssh2.utils.parseKey(pair.private)).not.toBeInstanceOf(Error);
    }
  });
});
