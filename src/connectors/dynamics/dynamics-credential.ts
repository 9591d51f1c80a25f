import type { NodeAuthOptions } from '@azure/msal-node';

/**
 * How the app proves who it is to Entra ID. Client secrets today; a certificate credential
 * implements the same interface by returning `clientCertificate` (thumbprint + private key), and a
 * federated credential by returning `clientAssertion`.
 */
export interface DynamicsCredential {
  /** Short name for logs and errors (never the secret). */
  readonly kind: string;
  /** The MSAL `auth` members that carry the credential. */
  toMsalAuth(): Pick<NodeAuthOptions, 'clientSecret' | 'clientCertificate' | 'clientAssertion'>;
}

/** A client secret of the app registration. */
export class ClientSecretCredential implements DynamicsCredential {
  readonly kind = 'client-secret';

  constructor(private readonly secret: string) {}

  toMsalAuth(): Pick<NodeAuthOptions, 'clientSecret'> {
    return { clientSecret: this.secret };
  }

  /** Keep the secret out of `JSON.stringify` and `util.inspect` output. */
  toJSON(): { kind: string } {
    return { kind: this.kind };
  }
}
