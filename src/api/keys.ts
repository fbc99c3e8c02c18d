import { randomBytes } from 'node:crypto';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { sha256, type Config } from '../config.js';

/** Who is calling: a tenant, and whether it may see every tenant's jobs and models. */
export interface Principal {
  tenant: string;
  admin: boolean;
}

/** With no keys configured the API is reachable from this machine only, by one implicit tenant. */
export const localPrincipal: Principal = { tenant: 'local', admin: true };

export interface StoredKey {
  tenant: string;
  sha256: string;
  admin: boolean;
  createdAt?: string;
}

/**
 * The API keys, by the SHA-256 of the key: keys are random 256-bit tokens, so a plain hash is
 * enough to keep them unusable at rest; the keys themselves are never stored or logged.
 */
export class KeyRing {
  private constructor(private readonly byHash: Map<string, Principal>) {}

  static async load(config: Config): Promise<KeyRing> {
    const keys: StoredKey[] = [...config.access.keys, ...(config.access.keysFile ? await readKeysFile(config.access.keysFile) : [])];
    return new KeyRing(new Map(keys.map((k) => [k.sha256, { tenant: k.tenant, admin: k.admin }])));
  }

  get enabled(): boolean {
    return this.byHash.size > 0;
  }

  identify(key: string): Principal | null {
    return this.byHash.get(sha256(key)) ?? null;
  }
}

export async function readKeysFile(file: string): Promise<StoredKey[]> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new Error(`API_KEYS_FILE ${file} is not readable JSON: ${(err as Error).message}`);
  }
  const keys = (parsed as { keys?: unknown }).keys;
  const valid = (k: unknown): k is StoredKey =>
    typeof k === 'object' && k !== null && typeof (k as StoredKey).tenant === 'string' && /^[0-9a-f]{64}$/.test((k as StoredKey).sha256);
  if (!Array.isArray(keys) || !keys.every(valid)) throw new Error(`API_KEYS_FILE ${file} must hold {"keys": [{"tenant", "sha256", "admin"}]}`);
  return keys.map((k) => ({ tenant: k.tenant, sha256: k.sha256, admin: k.admin === true, ...(k.createdAt ? { createdAt: k.createdAt } : {}) }));
}

/** Creates a key for a tenant, adds its hash to the keys file, and returns the key (shown once). */
export async function addKey(file: string, tenant: string, admin: boolean): Promise<string> {
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(tenant)) throw new Error(`tenant must be 1-64 letters, digits, '_', '.' or '-'`);
  const key = `ty_${randomBytes(32).toString('base64url')}`;
  const keys = await readKeysFile(file);
  keys.push({ tenant, sha256: sha256(key), admin, createdAt: new Date().toISOString() });
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify({ keys }, null, 2), { mode: 0o600 });
  await rename(tmp, file);
  return key;
}
