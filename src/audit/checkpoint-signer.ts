import type { AuditSigner } from '../ports/key-provider.js';
import { checkpointText, formatVerifierKey, signatureLine } from './verifier/signed-note.js';

/** Signs tree heads as C2SP tlog-checkpoint signed notes with the provider's Ed25519 key. */
export class CheckpointSigner {
  readonly verifierKey: string;

  constructor(
    readonly origin: string,
    private readonly signer: AuditSigner,
  ) {
    this.verifierKey = formatVerifierKey(origin, signer.publicKey);
  }

  async sign(size: number, root: Buffer): Promise<string> {
    const text = checkpointText(this.origin, size, root);
    const signature = await this.signer.sign(Buffer.from(text, 'utf8'));
    return `${text}\n${signatureLine(this.origin, this.signer.publicKey, signature)}`;
  }
}
