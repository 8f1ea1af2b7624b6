import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, realpathSync } from 'node:fs';
import { endianness } from 'node:os';
import pkcs11js from 'pkcs11js';
import type { GcmParams, Handle, Mechanism, PKCS11, Template } from 'pkcs11js';
import { ConfigurationError, DecryptionFailed, InvalidInput, KeyUnavailable } from '../domain/errors.js';
import type { Ed25519Signer, KeyProvider } from '../ports/key-provider.js';
import { CKM_EDDSA, findOrCreateEd25519Key, type TokenEd25519Key } from './pkcs11-ed25519.js';

/** Options for {@link Pkcs11KeyProvider.open}. */
export interface Pkcs11KeyProviderOptions {
  /** Path of the vendor's PKCS#11 shared library, e.g. `/usr/lib/softhsm/libsofthsm2.so`. */
  readonly modulePath: string;
  /** Token label (CK_TOKEN_INFO.label without its blank padding). */
  readonly tokenLabel: string;
  /** User PIN. Never logged or put in an error message; only a keyed HMAC of it is kept after login. */
  readonly pin: string;
  /** CKA_LABEL of the AES-256 master key on the token. */
  readonly keyLabel: string;
  /** Generate the master key inside the token when no key with `keyLabel` exists. */
  readonly createIfMissing: boolean;
}

/** Layout of a wrapped blob: version ‖ IV ‖ ciphertext ‖ tag. */
const WrapFormat = {
  version: 0x01,
  ivBytes: 12,
  tagBytes: 16,
  keyBytes: 32,
} as const;
const HEADER_BYTES = 1 + WrapFormat.ivBytes;

/**
 * CKR codes that mean "the token/session is gone", not "this ciphertext is bad". Unwrap reports
 * these as KeyUnavailable so an unplugged HSM is not mistaken for corrupted data; that distinction
 * depends only on the token's state, never on the ciphertext, so it is no decryption oracle.
 */
const UNAVAILABLE_CODES: ReadonlySet<number> = new Set([
  pkcs11js.CKR_SESSION_HANDLE_INVALID,
  pkcs11js.CKR_SESSION_CLOSED,
  pkcs11js.CKR_DEVICE_REMOVED,
  pkcs11js.CKR_TOKEN_NOT_PRESENT,
  pkcs11js.CKR_USER_NOT_LOGGED_IN,
  pkcs11js.CKR_CRYPTOKI_NOT_INITIALIZED,
  pkcs11js.CKR_KEY_HANDLE_INVALID,
]);

/** Login state of one token, shared by every provider of this process that uses it. */
interface TokenLogin {
  refs: number;
  /** HMAC of the PIN that logged in; lets a second open() check its PIN without a second C_Login. */
  readonly pinDigest: Buffer;
}

/**
 * One loaded PKCS#11 library. Cryptoki state (initialisation, login) is per process, not per
 * `PKCS11` object: a second C_Initialize returns CKR_CRYPTOKI_ALREADY_INITIALIZED, a C_Finalize
 * kills every other session, a C_Logout logs every session of that token out, and a C_Login on a
 * logged-in token returns CKR_USER_ALREADY_LOGGED_IN *without checking the PIN*. So providers share
 * one entry per library and reference-count it.
 */
interface LoadedModule {
  readonly key: string;
  readonly lib: PKCS11;
  /** False when something else in this process initialised the library; then we never finalise it. */
  readonly ownsInit: boolean;
  refs: number;
  /** Keyed by slot id (hex). */
  readonly logins: Map<string, TokenLogin>;
}

const modules = new Map<string, LoadedModule>();
/** Per-process key so PIN digests are useless outside this process. */
const PIN_DIGEST_KEY = randomBytes(32);

/**
 * KeyProvider backed by an AES-256 key that lives inside a PKCS#11 token (HSM, SoftHSM). Wrapping
 * is AES-256-GCM computed by the token; the key is generated non-extractable and never leaves it.
 *
 * Wrapped format: `0x01 ‖ IV (12) ‖ ciphertext ‖ tag (16)`, AAD = UTF-8 of `context`.
 */
export class Pkcs11KeyProvider implements KeyProvider {
  readonly kind = 'pkcs11' as const;
  readonly masterKeyId: string;

  readonly #module: LoadedModule;
  readonly #slot: Handle;
  readonly #key: Handle;
  #session: Handle | undefined;
  /** Tail of the operation queue; see #serialize. */
  #tail: Promise<unknown> = Promise.resolve();
  #closing: Promise<void> | undefined;
  readonly #keyLabel: string;

  private constructor(module: LoadedModule, slot: Handle, session: Handle, key: Handle, masterKeyId: string, keyLabel: string) {
    this.#keyLabel = keyLabel;
    this.#module = module;
    this.#slot = slot;
    this.#session = session;
    this.#key = key;
    this.masterKeyId = masterKeyId;
  }

  /**
   * Loads the module, logs in to the token labelled `tokenLabel` and locates (or creates) the
   * master key.
   *
   * @throws ConfigurationError when the module is missing or unusable, or the token holds an
   *   ambiguous or unsuitable key.
   * @throws KeyUnavailable when the token is absent, the PIN is rejected, or the key is missing and
   *   `createIfMissing` is false.
   */
  static open(opts: Pkcs11KeyProviderOptions): Promise<Pkcs11KeyProvider> {
    // The executor turns a synchronous throw into a rejection.
    return new Promise((resolve) => resolve(Pkcs11KeyProvider.#openSync(opts)));
  }

  static #openSync(opts: Pkcs11KeyProviderOptions): Pkcs11KeyProvider {
    validateOptions(opts);
    // Everything below is synchronous on purpose: the shared module/login bookkeeping cannot then
    // interleave with another open() or close() running in the same process.
    const module = acquireModule(opts.modulePath);
    const undo: Array<() => void> = [() => releaseModule(module)];
    try {
      const slot = findSlot(module, opts.tokenLabel);
      const session = openSession(module.lib, slot, opts.tokenLabel);
      undo.unshift(() => ignoreErrors(() => module.lib.C_CloseSession(session)));
      login(module, slot, session, opts);
      undo.unshift(() => releaseLogin(module, slot, session));
      const { key, id } = findOrCreateKey(module.lib, session, opts);
      return new Pkcs11KeyProvider(module, slot, session, key, masterKeyIdOf(opts, id), opts.keyLabel);
    } catch (err) {
      for (const step of undo) step();
      throw err;
    }
  }

  /** Encrypts `keyMaterial` inside the token with AES-256-GCM, binding `context` as AAD. */
  wrap(keyMaterial: Buffer, context: string): Promise<Buffer> {
    return this.#serialize(async () => {
      // PKCS#11 cannot express an empty input (pkcs11js passes NULL, SoftHSM answers
      // CKR_ARGUMENTS_BAD and leaves the operation stuck); there is no empty key to wrap anyway.
      if (keyMaterial.length === 0) throw new InvalidInput('key material to wrap is empty');
      this.#requireSession();
      const iv = randomBytes(WrapFormat.ivBytes);
      try {
        this.#initOperation('encrypt', gcmMechanism(iv, context));
        const sealed = await this.#module.lib.C_EncryptAsync(
          this.#requireSession(),
          keyMaterial,
          Buffer.alloc(keyMaterial.length + WrapFormat.tagBytes),
        );
        return Buffer.concat([Buffer.of(WrapFormat.version), iv, sealed]);
      } catch (err) {
        throw new KeyUnavailable(`PKCS#11 encryption failed (${ckrName(err)})`, { cause: err });
      }
    });
  }

  /**
   * Decrypts a blob produced by {@link wrap} inside the token.
   *
   * @throws DecryptionFailed for any wrong key, wrong context, tampering or malformed input.
   * @throws KeyUnavailable when the provider is closed or the token/session is gone.
   */
  unwrap(wrapped: Buffer, context: string): Promise<Buffer> {
    return this.#serialize(async () => {
      this.#requireSession();
      if (wrapped.length <= HEADER_BYTES + WrapFormat.tagBytes || wrapped[0] !== WrapFormat.version) {
        throw new DecryptionFailed({ cause: new Error('wrapped key has an unknown format or is truncated') });
      }
      const iv = wrapped.subarray(1, HEADER_BYTES);
      const sealed = wrapped.subarray(HEADER_BYTES);
      try {
        this.#initOperation('decrypt', gcmMechanism(iv, context));
        // SoftHSM insists on an output buffer as large as the input (tag included), else it
        // answers CKR_BUFFER_TOO_SMALL and keeps the operation active.
        return await this.#module.lib.C_DecryptAsync(this.#requireSession(), sealed, Buffer.alloc(sealed.length));
      } catch (err) {
        if (UNAVAILABLE_CODES.has(ckrCode(err))) {
          throw new KeyUnavailable(`PKCS#11 decryption failed (${ckrName(err)})`, { cause: err });
        }
        throw new DecryptionFailed({ cause: err });
      }
    });
  }

  /** Ed25519 key pair `<key label>-audit` in the token, generated there on first use; signing runs in the token. */
  auditSigner(): Promise<Ed25519Signer> {
    return this.#ed25519Signer('audit');
  }

  /** Ed25519 key pair `<key label>-token` in the token, generated there on first use; signing runs in the token. */
  tokenSigner(): Promise<Ed25519Signer> {
    return this.#ed25519Signer('token');
  }

  /** Logs out (when no other provider still uses the token), closes the session, finalises. Idempotent. */
  close(): Promise<void> {
    // Queued behind in-flight operations so none of them loses its session halfway.
    this.#closing ??= this.#serialize(() => {
      const session = this.#session;
      if (session === undefined) return;
      this.#session = undefined;
      releaseLogin(this.#module, this.#slot, session);
      ignoreErrors(() => this.#module.lib.C_CloseSession(session));
      releaseModule(this.#module);
    });
    return this.#closing;
  }

  /**
   * Runs tasks one at a time: a PKCS#11 session holds a single active operation, so an
   * EncryptInit from one caller must not land between another caller's Init and Encrypt.
   */
  #serialize<T>(task: () => T | Promise<T>): Promise<T> {
    const run = this.#tail.then(task);
    this.#tail = run.catch(() => undefined);
    return run;
  }

  /**
   * The Ed25519 key pair `<key label>-<purpose>`. A separate pair per purpose, so that one can be
   * rotated or revoked without touching the other.
   */
  #ed25519Signer(purpose: 'audit' | 'token'): Promise<Ed25519Signer> {
    const label = signingKeyLabel(this.#keyLabel, purpose);
    return this.#serialize(() => {
      let key: TokenEd25519Key;
      try {
        key = findOrCreateEd25519Key(this.#module.lib, this.#requireSession(), label);
      } catch (err) {
        if (err instanceof ConfigurationError || err instanceof KeyUnavailable) throw err;
        throw new KeyUnavailable(`PKCS#11 ${purpose} signing key unavailable (${ckrName(err)})`, { cause: err });
      }
      const sign = (message: Buffer): Promise<Buffer> =>
        this.#serialize(async () => {
          try {
            const session = this.#requireSession();
            this.#module.lib.C_SignInit(session, { mechanism: CKM_EDDSA }, key.privateKey);
            return await this.#module.lib.C_SignAsync(session, message, Buffer.alloc(64));
          } catch (err) {
            if (err instanceof KeyUnavailable) throw err;
            throw new KeyUnavailable(`PKCS#11 signing failed (${ckrName(err)})`, { cause: err });
          }
        });
      return { publicKey: key.publicKey, sign };
    });
  }

  #requireSession(): Handle {
    if (this.#session === undefined) throw new KeyUnavailable('PKCS#11 key provider is closed');
    return this.#session;
  }

  /**
   * C_EncryptInit / C_DecryptInit. If an earlier failure left an operation active on the session
   * (PKCS#11 2.40 has no way to cancel it), swap in a fresh session and retry once. The new session
   * is opened before the old one is closed so the token stays logged in.
   */
  #initOperation(op: 'encrypt' | 'decrypt', mechanism: Mechanism): void {
    const { lib } = this.#module;
    const init = (session: Handle) =>
      op === 'encrypt' ? lib.C_EncryptInit(session, mechanism, this.#key) : lib.C_DecryptInit(session, mechanism, this.#key);
    const session = this.#requireSession();
    try {
      init(session);
    } catch (err) {
      if (ckrCode(err) !== pkcs11js.CKR_OPERATION_ACTIVE) throw err;
      const fresh = lib.C_OpenSession(this.#slot, pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION);
      this.#session = fresh;
      ignoreErrors(() => lib.C_CloseSession(session));
      init(fresh);
    }
  }
}

/**
 * CKA_LABEL of the Ed25519 key pair for `purpose` next to the master key labelled `keyLabel`. One
 * definition, because `keys export` tells operators which objects to back up by these labels.
 */
export function signingKeyLabel(keyLabel: string, purpose: 'audit' | 'token'): string {
  return `${keyLabel}-${purpose}`;
}

function validateOptions(opts: Pkcs11KeyProviderOptions): void {
  for (const name of ['modulePath', 'tokenLabel', 'keyLabel'] as const) {
    if (typeof opts[name] !== 'string' || opts[name].trim() === '') {
      throw new ConfigurationError(`PKCS#11 ${name} must be a non-empty string`);
    }
  }
  if (typeof opts.pin !== 'string' || opts.pin === '') {
    throw new ConfigurationError('PKCS#11 PIN must be a non-empty string');
  }
}

function acquireModule(modulePath: string): LoadedModule {
  if (!existsSync(modulePath)) {
    throw new ConfigurationError(`PKCS#11 module not found: ${modulePath}`);
  }
  // dlopen hands out one shared instance per file, so symlinks to the same library share state too.
  let key: string;
  try {
    key = realpathSync(modulePath);
  } catch (err) {
    throw new ConfigurationError(`PKCS#11 module not accessible: ${modulePath} (${errorText(err)})`, { cause: err });
  }
  const existing = modules.get(key);
  if (existing !== undefined) {
    existing.refs += 1;
    return existing;
  }
  const lib = new pkcs11js.PKCS11();
  try {
    lib.load(modulePath);
  } catch (err) {
    throw new ConfigurationError(`PKCS#11 module could not be loaded: ${modulePath} (${errorText(err)})`, {
      cause: err,
    });
  }
  let ownsInit = true;
  try {
    // OS locking: operations run on libuv worker threads, and SoftHSM disables its own locking
    // when initialised without arguments.
    lib.C_Initialize({ flags: pkcs11js.CKF_OS_LOCKING_OK });
  } catch (err) {
    if (ckrCode(err) === pkcs11js.CKR_CRYPTOKI_ALREADY_INITIALIZED) {
      ownsInit = false;
    } else {
      ignoreErrors(() => lib.close());
      throw new ConfigurationError(`PKCS#11 module failed to initialise: ${modulePath} (${ckrName(err)})`, {
        cause: err,
      });
    }
  }
  const module: LoadedModule = { key, lib, ownsInit, refs: 1, logins: new Map() };
  modules.set(key, module);
  return module;
}

function releaseModule(module: LoadedModule): void {
  module.refs -= 1;
  if (module.refs > 0) return;
  modules.delete(module.key);
  if (module.ownsInit) ignoreErrors(() => module.lib.C_Finalize());
  // Never touch `lib` after this: pkcs11js keeps the function table pointer after dlclose.
  ignoreErrors(() => module.lib.close());
}

function findSlot(module: LoadedModule, tokenLabel: string): Handle {
  const { lib } = module;
  let slots: Handle[];
  try {
    slots = lib.C_GetSlotList(true);
  } catch (err) {
    throw new KeyUnavailable(`PKCS#11 slot list unavailable (${ckrName(err)})`, { cause: err });
  }
  const matches = slots.filter((slot) => {
    try {
      return trimPadding(lib.C_GetTokenInfo(slot).label) === tokenLabel;
    } catch {
      // A slot whose token vanished between the two calls is simply not the one we want.
      return false;
    }
  });
  const [slot, ...others] = matches;
  if (slot === undefined) throw new KeyUnavailable(`no PKCS#11 token labelled "${tokenLabel}" is present`);
  if (others.length > 0) {
    throw new ConfigurationError(`${matches.length} PKCS#11 tokens are labelled "${tokenLabel}"; labels must be unique`);
  }
  return slot;
}

function openSession(lib: PKCS11, slot: Handle, tokenLabel: string): Handle {
  try {
    return lib.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION);
  } catch (err) {
    throw new KeyUnavailable(`cannot open a session on PKCS#11 token "${tokenLabel}" (${ckrName(err)})`, {
      cause: err,
    });
  }
}

function login(module: LoadedModule, slot: Handle, session: Handle, opts: Pkcs11KeyProviderOptions): void {
  const slotKey = slot.toString('hex');
  const pinDigest = createHmac('sha256', PIN_DIGEST_KEY).update(opts.pin, 'utf8').digest();
  const existing = module.logins.get(slotKey);
  if (existing !== undefined) {
    // The token is already logged in for this process, so C_Login would not look at the PIN.
    if (!timingSafeEqual(existing.pinDigest, pinDigest)) {
      throw new KeyUnavailable(`PKCS#11 login to token "${opts.tokenLabel}" failed: PIN incorrect`);
    }
    existing.refs += 1;
    return;
  }
  try {
    module.lib.C_Login(session, pkcs11js.CKU_USER, opts.pin);
  } catch (err) {
    // pkcs11js errors carry only the CKR name and a stack, never the arguments, so `cause` is safe.
    throw new KeyUnavailable(`PKCS#11 login to token "${opts.tokenLabel}" failed: ${loginFailure(err)}`, {
      cause: err,
    });
  }
  module.logins.set(slotKey, { refs: 1, pinDigest });
}

function loginFailure(err: unknown): string {
  switch (ckrCode(err)) {
    case pkcs11js.CKR_PIN_INCORRECT:
      return 'PIN incorrect';
    case pkcs11js.CKR_PIN_LOCKED:
      return 'PIN locked';
    case pkcs11js.CKR_PIN_EXPIRED:
      return 'PIN expired';
    case pkcs11js.CKR_USER_PIN_NOT_INITIALIZED:
      return 'user PIN not initialised';
    case pkcs11js.CKR_USER_ALREADY_LOGGED_IN:
      // Logged in by other code in this process: accepting that would skip the PIN check.
      return 'token is already logged in by another component of this process';
    default:
      return ckrName(err);
  }
}

function releaseLogin(module: LoadedModule, slot: Handle, session: Handle): void {
  const slotKey = slot.toString('hex');
  const state = module.logins.get(slotKey);
  if (state === undefined) return;
  state.refs -= 1;
  if (state.refs > 0) return;
  module.logins.delete(slotKey);
  ignoreErrors(() => module.lib.C_Logout(session));
}

function findOrCreateKey(lib: PKCS11, session: Handle, opts: Pkcs11KeyProviderOptions): { key: Handle; id: Buffer } {
  const found = findKeys(lib, session, opts);
  const [existing, ...others] = found;
  if (others.length > 0) {
    throw new ConfigurationError(
      `${found.length} AES keys are labelled "${opts.keyLabel}" on PKCS#11 token "${opts.tokenLabel}"; labels must be unique`,
    );
  }
  if (existing !== undefined) {
    return { key: existing, id: checkKey(lib, session, existing, opts) };
  }
  if (!opts.createIfMissing) {
    throw new KeyUnavailable(`no AES key labelled "${opts.keyLabel}" on PKCS#11 token "${opts.tokenLabel}" (createIfMissing is off)`);
  }
  // Random CKA_ID: a key re-created under the same label then gets a different masterKeyId.
  const id = randomBytes(16);
  const template: Template = [
    { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_SECRET_KEY },
    { type: pkcs11js.CKA_KEY_TYPE, value: pkcs11js.CKK_AES },
    { type: pkcs11js.CKA_VALUE_LEN, value: WrapFormat.keyBytes },
    { type: pkcs11js.CKA_LABEL, value: opts.keyLabel },
    { type: pkcs11js.CKA_ID, value: id },
    { type: pkcs11js.CKA_TOKEN, value: true },
    { type: pkcs11js.CKA_PRIVATE, value: true },
    { type: pkcs11js.CKA_SENSITIVE, value: true },
    { type: pkcs11js.CKA_EXTRACTABLE, value: false },
    { type: pkcs11js.CKA_ENCRYPT, value: true },
    { type: pkcs11js.CKA_DECRYPT, value: true },
    { type: pkcs11js.CKA_WRAP, value: false },
    { type: pkcs11js.CKA_UNWRAP, value: false },
  ];
  try {
    return { key: lib.C_GenerateKey(session, { mechanism: pkcs11js.CKM_AES_KEY_GEN }, template), id };
  } catch (err) {
    throw new KeyUnavailable(`cannot generate AES key "${opts.keyLabel}" on PKCS#11 token "${opts.tokenLabel}" (${ckrName(err)})`, {
      cause: err,
    });
  }
}

function findKeys(lib: PKCS11, session: Handle, opts: Pkcs11KeyProviderOptions): Handle[] {
  try {
    lib.C_FindObjectsInit(session, [
      { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_SECRET_KEY },
      { type: pkcs11js.CKA_KEY_TYPE, value: pkcs11js.CKK_AES },
      { type: pkcs11js.CKA_LABEL, value: opts.keyLabel },
    ]);
    try {
      // Two is enough to detect ambiguity.
      return lib.C_FindObjects(session, 2);
    } finally {
      lib.C_FindObjectsFinal(session);
    }
  } catch (err) {
    throw new KeyUnavailable(`cannot search PKCS#11 token "${opts.tokenLabel}" for keys (${ckrName(err)})`, {
      cause: err,
    });
  }
}

/** Rejects keys we would not generate ourselves in ways that matter for wrapping; returns CKA_ID. */
function checkKey(lib: PKCS11, session: Handle, key: Handle, opts: Pkcs11KeyProviderOptions): Buffer {
  let attrs: Array<{ type: number; value: Buffer }>;
  try {
    attrs = lib.C_GetAttributeValue(session, key, [
      { type: pkcs11js.CKA_VALUE_LEN },
      { type: pkcs11js.CKA_ENCRYPT },
      { type: pkcs11js.CKA_DECRYPT },
      { type: pkcs11js.CKA_ID },
    ]);
  } catch (err) {
    throw new KeyUnavailable(`cannot read attributes of the master key (${ckrName(err)})`, { cause: err });
  }
  const value = (type: number): Buffer => attrs.find((a) => a.type === type)?.value ?? Buffer.alloc(0);
  const where = `AES key "${opts.keyLabel}" on PKCS#11 token "${opts.tokenLabel}"`;
  const length = readUlong(value(pkcs11js.CKA_VALUE_LEN));
  if (length !== WrapFormat.keyBytes) {
    throw new ConfigurationError(`${where} is ${length * 8}-bit; AES-256 is required`);
  }
  if (value(pkcs11js.CKA_ENCRYPT)[0] !== 1 || value(pkcs11js.CKA_DECRYPT)[0] !== 1) {
    throw new ConfigurationError(`${where} does not allow both CKA_ENCRYPT and CKA_DECRYPT`);
  }
  return value(pkcs11js.CKA_ID);
}

/** RFC 7512 PKCS#11 URI; the CKA_ID (when set) pins it to this key object, not just the label. */
function masterKeyIdOf(opts: Pkcs11KeyProviderOptions, id: Buffer): string {
  const parts = [`token=${encodeURIComponent(opts.tokenLabel)}`, `object=${encodeURIComponent(opts.keyLabel)}`];
  if (id.length > 0) parts.push(`id=${[...id].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('')}`);
  return `pkcs11:${parts.join(';')}`;
}

function gcmMechanism(iv: Buffer, context: string): Mechanism {
  // CK_PARAMS_GCM fills the v2.40 CK_GCM_PARAMS including ulIvBits; pkcs11js' CK_PARAMS_AES_GCM
  // leaves ulIvBits uninitialised, which tokens that read it would reject or misinterpret.
  const parameter: GcmParams = {
    type: pkcs11js.CK_PARAMS_GCM,
    iv,
    ivBits: WrapFormat.ivBytes * 8,
    aad: Buffer.from(context, 'utf8'),
    tagBits: WrapFormat.tagBytes * 8,
  };
  return { mechanism: pkcs11js.CKM_AES_GCM, parameter };
}

/** CK_ULONG is `unsigned long` in host byte order: 8 bytes on LP64, 4 on Windows. */
function readUlong(value: Buffer): number {
  const le = endianness() === 'LE';
  if (value.length === 8) return Number(le ? value.readBigUInt64LE() : value.readBigUInt64BE());
  if (value.length === 4) return le ? value.readUInt32LE() : value.readUInt32BE();
  return Number.NaN;
}

/** Token labels are blank-padded to 32 bytes (some modules pad with NULs). */
function trimPadding(label: string): string {
  return label.replace(/[\s\0]+$/u, '');
}

function ckrCode(err: unknown): number {
  return err instanceof pkcs11js.Pkcs11Error ? err.code : -1;
}

function ckrName(err: unknown): string {
  return err instanceof pkcs11js.Pkcs11Error ? err.message : errorText(err);
}

function errorText(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.split('\n', 1)[0] ?? '';
}

function ignoreErrors(fn: () => unknown): void {
  try {
    fn();
  } catch {
    // Best-effort teardown: the token may already be gone and the caller cannot act on it.
  }
}
