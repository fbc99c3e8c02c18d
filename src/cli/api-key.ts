import { ConfigError, loadConfig } from '../config.js';
import { addKey } from '../api/keys.js';
import { fail, parseFlags } from './args.js';

const usage = `Usage: npm run api-key -- --tenant NAME [--admin] [--file FILE]

Creates an API key for a tenant, stores its SHA-256 in the keys file (API_KEYS_FILE, or --file),
and prints the key once: it is not stored anywhere else. --admin makes a key that sees every tenant.`;

const flags = parseFlags(usage, { tenant: { type: 'string' }, admin: { type: 'boolean', default: false }, file: { type: 'string' } });

try {
  const file = flags.file ?? loadConfig().access.keysFile;
  if (!flags.tenant) fail(`--tenant is required\n\n${usage}`);
  if (!file) fail(`no keys file: set API_KEYS_FILE or pass --file\n\n${usage}`);
  const key = await addKey(file, flags.tenant, flags.admin === true);
  console.log(`API key for tenant '${flags.tenant}'${flags.admin ? ' (admin)' : ''}, stored hashed in ${file}:\n${key}`);
} catch (err) {
  if (err instanceof ConfigError) fail(err.message);
  fail((err as Error).message);
}
