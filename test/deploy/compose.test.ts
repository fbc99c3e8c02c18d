import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import YAML from 'yaml';

const root = path.resolve(import.meta.dirname, '../..');

/** The compose client this machine has: the docker CLI plugin, or the standalone docker-compose. */
function composeCommand(): string[] | null {
  if (spawnSync('docker', ['compose', 'version'], { stdio: 'ignore' }).status === 0) return ['docker', 'compose'];
  if (spawnSync('docker-compose', ['version'], { stdio: 'ignore' }).status === 0) return ['docker-compose'];
  return null;
}

const compose = composeCommand();
// A skip alone is easy to miss in the summary: say why.
if (compose === null) console.log('docker-compose.yml not checked: no compose client here (docker compose, or apt-get install -y docker-compose)');

describe('docker-compose.yml', () => {
  it.skipIf(compose === null)('passes `docker compose config`: redis with AOF, the API, a GPU worker and a CPU worker sharing the data volume, and an optional MinIO', () => {
    const [command, ...args] = compose!;
    const result = spawnSync(command!, [...args, '--profile', 'gpu', '--profile', 'cpu', '--profile', 's3', 'config'], { cwd: root, encoding: 'utf8', env: { ...process.env, STORE_URL: '' } });
    expect(result.status, result.stderr).toBe(0);
    const config = YAML.parse(result.stdout) as {
      services: Record<string, { command?: string[]; environment?: Record<string, string>; volumes?: unknown[]; deploy?: unknown; build?: { target?: string }; profiles?: string[] }>;
    };
    expect(Object.keys(config.services).sort()).toEqual(['api', 'minio', 'minio-init', 'redis', 'worker', 'worker-cpu']);
    expect(config.services['redis']!.command).toContain('--appendonly');
    expect(config.services['api']!.environment).toMatchObject({ REDIS_URL: 'redis://redis:6379', WORKERS: '0' });
    expect(config.services['worker']!.build?.target).toBe('gpu');
    expect(JSON.stringify(config.services['worker']!.deploy)).toContain('nvidia');
    // webgpu needs the driver's Vulkan ICD (graphics); tfjs-node-gpu's PTX cache lives on a volume.
    const gpu = config.services['worker']!.environment!;
    expect(gpu['NVIDIA_DRIVER_CAPABILITIES']!.split(',')).toEqual(expect.arrayContaining(['compute', 'utility', 'graphics']));
    expect(gpu).toMatchObject({ CUDA_CACHE_PATH: '/cuda-cache', TRAINYARD_BACKEND: 'auto' });
    expect(Number(gpu['CUDA_CACHE_MAXSIZE'])).toBeGreaterThan(0);
    expect(JSON.stringify(config.services['worker']!.volumes)).toContain('/cuda-cache');
    const volumeOf = (s: string) => JSON.stringify(config.services[s]!.volumes);
    for (const s of ['api', 'worker', 'worker-cpu']) expect(volumeOf(s)).toContain('/data');
    // Object storage is optional: its services only under the s3 profile, and unset, the store stays the data volume.
    for (const s of ['minio', 'minio-init']) expect(config.services[s]!.profiles).toEqual(['s3']);
    for (const s of ['api', 'worker', 'worker-cpu']) expect(config.services[s]!.environment).toMatchObject({ STORE_URL: '', S3_FORCE_PATH_STYLE: 'false' });
  });
});
