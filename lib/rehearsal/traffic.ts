/**
 * Traffic: the real router code (route.ts, the flag cache of flag.ts over Powertools'
 * AppConfigProvider) in a few router containers, each with its own flag cache, sending the
 * scenario's requests per minute to the endpoint the flag names. The router's metrics go to the
 * emulated CloudWatch as its EMF lines would.
 */
import { AppConfigProvider } from '@aws-lambda-powertools/parameters/appconfig';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import type { PredictionRecord } from '../../lambdas/core/routing/prediction-record';
import {
  appConfigFlagFetcher,
  createFlagReader,
  type Clock,
  type RouterLogger,
} from '../../lambdas/router/flag';
import type { RouterEnv } from '../../lambdas/core/contracts/router-env';
import { route, type RouterDeps } from '../../lambdas/router/route';
import type { SageMakerRuntimePort } from '../../lambdas/router/endpoint';
import { appConfigData } from './clients';
import type { Cloud } from './cloud';

/** Router containers: each reads and caches the flag on its own, as Lambda containers do. */
export const ROUTER_CONTAINERS = 4;

const silentLogger: RouterLogger = { info: () => undefined, warn: () => undefined, error: () => undefined };

/**
 * The part of Powertools Metrics the router calls, writing to the emulated CloudWatch: what the
 * EMF line of each `publishStoredMetrics` and `singleMetric` would put there.
 */
class EmulatedMetrics {
  private dims: Record<string, string> = {};
  private values: [string, number][] = [];

  constructor(
    private readonly cloud: Cloud,
    private readonly namespace: string,
    private readonly service: string,
  ) {}

  clearDimensions(): void {
    this.dims = {};
  }
  clearMetrics(): void {
    this.values = [];
  }
  addDimension(name: string, value: string): this {
    this.dims[name] = value;
    return this;
  }
  addMetric(name: string, _unit: unknown, value: number): this {
    this.values.push([name, value]);
    return this;
  }
  publishStoredMetrics(): void {
    this.cloud.metrics.putAll(
      this.namespace,
      { service: this.service, ...this.dims },
      this.cloud.nowMs,
      this.values,
    );
    this.values = [];
    this.dims = {};
  }
  singleMetric(): {
    addDimension: (n: string, v: string) => unknown;
    addMetric: (n: string, u: unknown, v: number) => unknown;
  } {
    const dims: Record<string, string> = { service: this.service };
    const self = {
      addDimension: (n: string, v: string) => {
        dims[n] = v;
        return self;
      },
      addMetric: (n: string, _u: unknown, v: number) => {
        this.cloud.metrics.put(this.namespace, n, dims, this.cloud.nowMs, v);
        return self;
      },
    };
    return self;
  }
}

/** One request's outcome, for the timeline's traffic split and the invariants. */
export interface Routed {
  readonly endpoint: 'live' | 'standby';
  readonly modelVersion: string;
  readonly ok: boolean;
}

export class Traffic {
  private readonly routers: RouterDeps[];
  /** When each container starts: staggered over one cache period, so their flag reads are too. */
  private readonly startsAt: number[];
  private next = 0;
  private sent = 0;

  constructor(
    private readonly cloud: Cloud,
    env: RouterEnv,
    hmacKey: Uint8Array,
  ) {
    const stagger = (env.FLAG_CACHE_SECONDS * 1000) / ROUTER_CONTAINERS;
    this.startsAt = Array.from({ length: ROUTER_CONTAINERS }, (_, i) => cloud.nowMs + i * stagger);
    const clock: Clock = { now: () => new Date(cloud.nowMs), monotonicMs: () => cloud.nowMs };
    const runtime: SageMakerRuntimePort = {
      send: async (command) => {
        cloud.settle();
        return cloud.invoke(command.input as Parameters<Cloud['invoke']>[0]) as never;
      },
    };
    const records: PredictionRecord[] = [];
    this.routers = Array.from({ length: ROUTER_CONTAINERS }, (_, i) => {
      const data = Object.assign(appConfigData(cloud, i, ROUTER_CONTAINERS), {
        config: {},
        middlewareStack: { identify: () => [], addRelativeTo: () => undefined, add: () => undefined },
      });
      const provider = new AppConfigProvider({
        application: env.APPCONFIG_APPLICATION,
        environment: env.APPCONFIG_ENVIRONMENT,
        awsSdkV3Client: data as never,
      });
      return {
        model: env.MODEL_NAME,
        endpoints: { live: env.LIVE_ENDPOINT, standby: env.STANDBY_ENDPOINT },
        sagemakerRuntime: runtime,
        readFlag: createFlagReader({
          fetchFlag: appConfigFlagFetcher(provider, env.APPCONFIG_PROFILE, env.FLAG_CACHE_SECONDS),
          model: env.MODEL_NAME,
          experiment: env.EXPERIMENT,
          label: 'AppConfig flag (rehearsal)',
          readAdvice: 'the rehearsal deploys it',
          cacheSeconds: env.FLAG_CACHE_SECONDS,
          clock,
          logger: silentLogger,
        }),
        hmacKey: () => Promise.resolve(hmacKey),
        predictionLog: {
          add: (r: PredictionRecord) => {
            records.length = 0;
            records.push(r);
          },
          flush: async () => ({ delivered: 1, fallback: 0, lost: 0 }) as never,
        },
        metrics: new EmulatedMetrics(cloud, 'MLPlatform/Router', env.MODEL_NAME) as unknown as Metrics,
        clock,
        logger: silentLogger,
      };
    });
  }

  /** Sends one request through the next router container. */
  async send(): Promise<Routed> {
    let i = this.next;
    while (this.startsAt[i]! > this.cloud.nowMs) i = (i + 1) % this.routers.length;
    const deps = this.routers[i]!;
    this.next = (i + 1) % this.routers.length;
    const n = this.sent++;
    const result = await route(
      {
        requestId: `req-${n}`,
        method: 'POST',
        body: JSON.stringify({ userId: `user-${n % 5000}`, input: { text: `document ${n % 997}` } }),
        isBase64Encoded: false,
      },
      deps,
    );
    const b = result.body as { endpoint?: 'live' | 'standby'; modelVersion?: string };
    const record = result.record;
    return {
      endpoint: b.endpoint ?? record?.endpoint ?? 'live',
      modelVersion: b.modelVersion ?? record?.model_version ?? 'unknown',
      ok: result.statusCode === 200,
    };
  }
}
