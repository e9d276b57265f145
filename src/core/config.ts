import { isIP } from 'node:net';
import path from 'node:path';
import { z } from 'zod';

/**
 * Configuration: environment variables, parsed once at start-up (CONTRACT.md).
 * A bad value throws a ConfigError whose message is one line naming the variable.
 */
export const ROLES = ['api', 'ingest', 'worker'] as const;
export type Role = (typeof ROLES)[number];
export const HWACCEL_SETTINGS = ['auto', 'none', 'nvenc', 'vaapi', 'qsv'] as const;
export type HwaccelSetting = (typeof HWACCEL_SETTINGS)[number];

export interface S3Config {
  bucket: string;
  endpoint: string | undefined;
  region: string;
  /** Prepended to every object key as is (`live/` gives `live/{stream}/{name}`). */
  prefix: string;
  /** Bodies waiting for or in upload at once; when full, writes wait (S3_BACKLOG_MB). @defaultValue 64 MiB */
  backlogBytes: number;
}

export interface Config {
  roles: ReadonlySet<Role>;
  port: number;
  host: string;
  /** Base URL used in Location headers; no trailing slash. */
  publicUrl: string;
  /** Whether PUBLIC_URL was set (else publicUrl is made from HOST and PORT). */
  publicUrlSet: boolean;
  /** Unset: a private redis-server is started and stopped with the process. */
  redisUrl: string | undefined;
  ffmpegPath: string;
  /** Absolute. */
  dataDir: string;
  /** Absolute; `POST /api/vod` accepts file names inside it only. Default `DATA_DIR/media`. */
  mediaDir: string;
  storage: 'local' | 's3';
  s3: S3Config | undefined;
  publishToken: string | undefined;
  apiToken: string | undefined;
  hwaccel: HwaccelSetting;
  iceServers: string[];
  /** ICE_PORT_RANGE: the UDP ports WebRTC peers bind, [min, max]; unset: any free port. */
  icePortRange: [number, number] | undefined;
  /** ICE_PUBLIC_ADDRESSES: addresses announced beside the host candidates (1:1 NAT, Docker). */
  icePublicAddresses: string[];
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** Largest multipart upload accepted by `POST /api/vod`, in bytes. */
  maxUploadBytes: number;
  /** Prefix of every BullMQ queue and Redis key; lets tests and tenants share one Redis. */
  queuePrefix: string;
  /** Jobs one worker process runs at once. */
  workerConcurrency: number;
  /** Live streams one worker process takes at once; `auto`: as many as its cores encode. */
  liveCapacity: 'auto' | number;
  /**
   * What an authenticated publish to a stream that is already live does: `takeover` (the new
   * session replaces the old one, which ends with reason `takeover`) or `reject` (409).
   * @defaultValue `takeover`
   */
  takeover: TakeoverPolicy;
  /** A publish session that receives no media for this long ends. @defaultValue 10000 */
  mediaTimeoutMs: number;
  /** Bearer token required by WHEP playback; unset: playback is open. */
  viewToken: string | undefined;
  /** WHEP viewers one stream takes at once; more get 503. @defaultValue 200 */
  maxViewersPerStream: number;
  /**
   * TRUST_PROXY: whose `X-Forwarded-For` counts when telling clients apart (the per-client
   * limits below). null: nobody's, the socket's peer is the client. @defaultValue null
   */
  trustProxy: TrustProxy;
  /** Blocking playlist and part requests one client may hold at once; more get 429. @defaultValue 500 */
  maxHeldPerClient: number;
  /** WHIP publish sessions one client may hold at once; more get 429. @defaultValue 16 */
  maxPublishesPerClient: number;
  /** WHEP viewer sessions one client may hold at once; more get 429. @defaultValue 50 */
  maxViewersPerClient: number;
  /** Wrong Bearer tokens one client may send per minute; past it, 429 until the minute ends. @defaultValue 10 */
  authFailuresPerMinute: number;
  /** Free bytes DATA_DIR's file system must keep: an upload that would go below is refused (507). @defaultValue 1 GiB */
  minFreeDiskBytes: number;
  /** User presets the store keeps; a new one past it is refused (409). @defaultValue 200 */
  maxUserPresets: number;
  /**
   * The most a preset may cost, in weighted megapixels per second (see presetCost in
   * src/core/presets/cost.ts); a costlier one is refused naming its costliest rung. @defaultValue 1000
   */
  maxPresetCost: number;
}

/**
 * Which proxies' `X-Forwarded-For` is believed: the last `hops` entries (each proxy in
 * front appends the address it saw), or every entry appended by one of `proxies`.
 */
export type TrustProxy = { hops: number } | { proxies: readonly string[] } | null;

export const TAKEOVER_POLICIES = ['takeover', 'reject'] as const;
export type TakeoverPolicy = (typeof TAKEOVER_POLICIES)[number];

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/;

export function isLoopback(host: string): boolean {
  return LOOPBACK.test(host);
}

const intIn = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, `must be a whole number from ${min} to ${max}`)
    .transform(Number)
    .refine((n) => n >= min && n <= max, `must be a whole number from ${min} to ${max}`);

/** `a, b,,c` → ['a', 'b', 'c']. */
const commaList = (s: string): string[] =>
  s
    .split(',')
    .map((v) => v.trim())
    .filter(Boolean);

const EnvSchema = z.object({
  ROLES: z
    .string()
    .transform(commaList)
    .refine((rs) => rs.length > 0 && rs.every((r) => (ROLES as readonly string[]).includes(r)), {
      message: `must be a comma-separated list of ${ROLES.join(', ')}`,
    })
    .optional(),
  PORT: intIn(0, 65535).default(8080), // 0 = any free port (tests)
  HOST: z
    .string()
    .regex(/^[A-Za-z0-9.:-]{1,253}$/, 'must be a host name or IP address')
    .default('127.0.0.1'),
  PUBLIC_URL: z
    .url({ protocol: /^https?$/, error: 'must be an http or https URL' })
    .transform((u) => u.replace(/\/+$/, ''))
    .optional(),
  REDIS_URL: z.url({ protocol: /^rediss?$/, error: 'must be a redis:// or rediss:// URL' }).optional(),
  FFMPEG_PATH: z.string().min(1).default('ffmpeg'),
  DATA_DIR: z.string().min(1).default('./data'),
  MEDIA_DIR: z.string().min(1).optional(),
  STORAGE: z.enum(['local', 's3'], { error: 'must be local or s3' }).default('local'),
  S3_BUCKET: z
    .string()
    .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'must be a valid bucket name')
    .optional(),
  S3_ENDPOINT: z.url({ error: 'must be a URL' }).optional(),
  S3_REGION: z.string().min(1).default('us-east-1'),
  S3_PREFIX: z
    .string()
    .regex(
      /^([A-Za-z0-9_-][A-Za-z0-9/_-]*)?$/,
      'may hold letters, digits, / _ and - only, not starting with /',
    )
    .default(''),
  S3_BACKLOG_MB: intIn(1, 65_536).default(64),
  PUBLISH_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  API_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  HWACCEL: z
    .enum(HWACCEL_SETTINGS, { error: `must be one of ${HWACCEL_SETTINGS.join(', ')}` })
    .default('auto'),
  ICE_SERVERS: z
    .string()
    .transform(commaList)
    .refine((us) => us.every((u) => /^(stun|stuns|turn|turns):[^\s"<>]+$/.test(u)), {
      message: 'must be comma-separated stun:, stuns:, turn: or turns: URLs',
    })
    .optional(),
  ICE_PORT_RANGE: z
    .string()
    .regex(/^\d{1,5}-\d{1,5}$/, 'must be MIN-MAX, e.g. 40000-40199')
    .transform((s) => s.split('-').map(Number) as [number, number])
    .refine(([min, max]) => min >= 1024 && max <= 65535 && min < max, {
      message: 'must be MIN-MAX with 1024 <= MIN < MAX <= 65535',
    })
    .optional(),
  ICE_PUBLIC_ADDRESSES: z
    .string()
    .transform(commaList)
    .refine((as) => as.every((a) => isIP(a) !== 0), {
      message: 'must be comma-separated IPv4 or IPv6 addresses (no names)',
    })
    .optional(),
  LOG_LEVEL: z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
      error: 'must be fatal, error, warn, info, debug, trace or silent',
    })
    .default('info'),
  MAX_UPLOAD_MB: intIn(1, 1_048_576).default(2048),
  QUEUE_PREFIX: z
    .string()
    .regex(/^[a-z][a-z0-9-]{0,31}$/, 'must be lower-case letters, digits and -, starting with a letter')
    .default('whipcast'),
  WORKER_CONCURRENCY: intIn(1, 64).default(1),
  LIVE_CAPACITY: z
    .union([z.literal('auto'), intIn(1, 64)], { error: 'must be auto or a whole number from 1 to 64' })
    .default('auto'),
  TAKEOVER: z
    .enum(TAKEOVER_POLICIES, { error: `must be one of ${TAKEOVER_POLICIES.join(', ')}` })
    .default('takeover'),
  MEDIA_TIMEOUT_MS: intIn(500, 3_600_000).default(10_000),
  VIEW_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  MAX_VIEWERS_PER_STREAM: intIn(1, 100_000).default(200),
  TRUST_PROXY: z
    .string()
    .transform((v, ctx): TrustProxy => {
      if (/^(false|0|no|off)$/i.test(v)) return null;
      if (/^\d+$/.test(v)) {
        const hops = Number(v);
        if (hops >= 1 && hops <= 10) return { hops };
      } else {
        const proxies = commaList(v);
        if (proxies.length > 0 && proxies.every((a) => isIP(a) !== 0)) return { proxies };
      }
      ctx.addIssue({
        code: 'custom',
        message: 'must be false, a number of proxy hops from 1 to 10, or comma-separated proxy IP addresses',
      });
      return z.NEVER;
    })
    .optional(),
  MAX_HELD_PER_CLIENT: intIn(1, 1_000_000).default(500),
  MAX_PUBLISHES_PER_CLIENT: intIn(1, 10_000).default(16),
  MAX_VIEWERS_PER_CLIENT: intIn(1, 100_000).default(50),
  AUTH_FAILURES_PER_MINUTE: intIn(1, 100_000).default(10),
  MIN_FREE_DISK_MB: intIn(0, 1_073_741_824).default(1024),
  MAX_USER_PRESETS: intIn(0, 100_000).default(200),
  MAX_PRESET_COST: intIn(1, 1_000_000_000).default(1000),
});

/** Empty strings count as unset, as shells and compose files produce them. */
function clean(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined && v !== '') out[k] = v;
  return out;
}

export function loadConfig(
  env: NodeJS.ProcessEnv = process.env,
  opts: { workerOnly?: boolean; cwd?: string } = {},
): Config {
  const parsed = EnvSchema.safeParse(clean(env));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const name = String(issue?.path[0] ?? 'environment');
    const got = env[name];
    const shown = got === undefined || /TOKEN|SECRET|KEY/.test(name) ? '' : ` (got "${got}")`;
    throw new ConfigError(`${name}: ${issue?.message ?? 'invalid'}${shown}`);
  }
  const e = parsed.data;
  const cwd = opts.cwd ?? process.cwd();
  const roles = new Set<Role>((e.ROLES ?? (opts.workerOnly ? ['worker'] : [...ROLES])) as Role[]);

  if (!isLoopback(e.HOST) && (!e.PUBLISH_TOKEN || !e.API_TOKEN)) {
    throw new ConfigError(
      `HOST: binding the non-loopback address ${e.HOST} needs PUBLISH_TOKEN and API_TOKEN to be set`,
    );
  }
  if (e.STORAGE === 's3' && !e.S3_BUCKET) {
    throw new ConfigError('S3_BUCKET: must be set when STORAGE=s3');
  }
  const dataDir = path.resolve(cwd, e.DATA_DIR);
  const hostInUrl = e.HOST.includes(':') ? `[${e.HOST}]` : e.HOST;
  return {
    roles,
    port: e.PORT,
    host: e.HOST,
    publicUrl: e.PUBLIC_URL ?? `http://${hostInUrl}:${e.PORT}`,
    publicUrlSet: e.PUBLIC_URL !== undefined,
    redisUrl: e.REDIS_URL,
    ffmpegPath: e.FFMPEG_PATH,
    dataDir,
    mediaDir: e.MEDIA_DIR ? path.resolve(cwd, e.MEDIA_DIR) : path.join(dataDir, 'media'),
    storage: e.STORAGE,
    s3:
      e.STORAGE === 's3' && e.S3_BUCKET
        ? {
            bucket: e.S3_BUCKET,
            endpoint: e.S3_ENDPOINT,
            region: e.S3_REGION,
            prefix: e.S3_PREFIX,
            backlogBytes: e.S3_BACKLOG_MB * 1024 * 1024,
          }
        : undefined,
    publishToken: e.PUBLISH_TOKEN,
    apiToken: e.API_TOKEN,
    hwaccel: e.HWACCEL,
    iceServers: e.ICE_SERVERS ?? [],
    icePortRange: e.ICE_PORT_RANGE,
    icePublicAddresses: e.ICE_PUBLIC_ADDRESSES ?? [],
    logLevel: e.LOG_LEVEL,
    maxUploadBytes: e.MAX_UPLOAD_MB * 1024 * 1024,
    queuePrefix: e.QUEUE_PREFIX,
    workerConcurrency: e.WORKER_CONCURRENCY,
    liveCapacity: e.LIVE_CAPACITY,
    takeover: e.TAKEOVER,
    mediaTimeoutMs: e.MEDIA_TIMEOUT_MS,
    viewToken: e.VIEW_TOKEN,
    maxViewersPerStream: e.MAX_VIEWERS_PER_STREAM,
    trustProxy: e.TRUST_PROXY ?? null,
    maxHeldPerClient: e.MAX_HELD_PER_CLIENT,
    maxPublishesPerClient: e.MAX_PUBLISHES_PER_CLIENT,
    maxViewersPerClient: e.MAX_VIEWERS_PER_CLIENT,
    authFailuresPerMinute: e.AUTH_FAILURES_PER_MINUTE,
    minFreeDiskBytes: e.MIN_FREE_DISK_MB * 1024 * 1024,
    maxUserPresets: e.MAX_USER_PRESETS,
    maxPresetCost: e.MAX_PRESET_COST,
  };
}

/**
 * The environment a child process (ffmpeg, redis-server) runs with: this process's, over
 * `defaults` (a default applies only where the variable is unset).
 */
export function childEnvironment(defaults: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { ...defaults, ...process.env };
}

/** The directories PATH names, in order. */
export function searchPath(): string[] {
  return (process.env.PATH ?? '').split(path.delimiter).filter(Boolean);
}
