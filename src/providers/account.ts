// Which provider account a client talks to, for the account's shared limit: the endpoint and a fingerprint of the
// credential. The fingerprint is a salted, cut sha256: it tells two keys apart and gives nothing of either back.
import { createHash } from 'node:crypto';

export interface AccountIdentity {
  endpoint: string;
  /** 16 hex characters; empty when no credential is set. */
  fingerprint: string;
}

export function credentialFingerprint(credential: string | undefined): string {
  if (!credential) return '';
  return createHash('sha256').update(`imagebatch-account\u0000${credential}`).digest('hex').slice(0, 16);
}
