/**
 * moto's CPU per request, for ways of starting its server: the command tests used before
 * (`python3 -m moto.server`) and test/setup/moto-server.py with and without each of its changes.
 *
 *   AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true npx tsx bench/moto-request-cost.ts [--rounds N] [--iterations N]
 *
 * Starts one server per variant, sends each the same first requests (moto imports a service's code
 * on its first request: not counted), then, in rounds that take the variants in turn, a fixed mix of
 * requests through the real SDK, as the Lambda suites send them: S3 put, get, head, list; DynamoDB
 * put, get, query; CloudWatch PutMetricData; SNS Publish; a reset and the bucket and table made
 * again. A server's CPU is user + system time from /proc/<pid>/stat (ticks of 10 ms), read before
 * and after its part of the round. Prints the median CPU per request of each variant and its ratio
 * to the first, and the CPU of this process (the SDK's side) per request. --only a,b: the variants
 * whose names contain a or b (the first variant is always run). Linux only. Prints figures only.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import * as path from 'node:path';
import { CloudWatchClient, PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import {
  CreateTableCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
} from '@aws-sdk/client-dynamodb';
import {
  CreateBucketCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { CreateTopicCommand, PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { freePort, median } from './measure';

function option(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`);
  if (index < 0) return fallback;
  const value = Number(process.argv[index + 1]);
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new Error(`--${name} must be a whole number >= 1, got ${process.argv[index + 1]}`);
  }
  return value;
}
const ROUNDS = option('rounds', 5);
const ITERATIONS = option('iterations', 40);
const LAUNCHER = path.resolve(__dirname, '../test/setup/moto-server.py');

interface Variant {
  readonly name: string;
  readonly args: (port: number) => string[];
}
const ALL_VARIANTS: readonly Variant[] = [
  {
    name: 'python3 -m moto.server (before)',
    args: (p) => ['-P', '-m', 'moto.server', '-H', '127.0.0.1', '-p', String(p)],
  },
  { name: 'moto-server.py --plain --log', args: (p) => ['-P', LAUNCHER, String(p), '--plain', '--log'] },
  { name: 'moto-server.py --log (routing cached)', args: (p) => ['-P', LAUNCHER, String(p), '--log'] },
  { name: 'moto-server.py --plain (no request log)', args: (p) => ['-P', LAUNCHER, String(p), '--plain'] },
  { name: 'moto-server.py (as the tests run it)', args: (p) => ['-P', LAUNCHER, String(p)] },
  {
    name: 'moto-server.py, PYTHONOPTIMIZE=1',
    args: (p) => ['-O', '-P', LAUNCHER, String(p)],
  },
  {
    name: 'moto-server.py --single-thread (HTTP/1.0)',
    args: (p) => ['-P', LAUNCHER, String(p), '--single-thread'],
  },
];

const onlyIndex = process.argv.indexOf('--only');
const only = onlyIndex >= 0 ? process.argv[onlyIndex + 1].split(',') : undefined;
const VARIANTS = ALL_VARIANTS.filter((v, i) => i === 0 || !only || only.some((o) => v.name.includes(o)));

function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

interface Server {
  readonly variant: Variant;
  readonly child: ChildProcess;
  readonly endpoint: string;
  readonly s3: S3Client;
  readonly ddb: DynamoDBClient;
  readonly cw: CloudWatchClient;
  readonly sns: SNSClient;
  topicArn?: string;
}

async function start(variant: Variant): Promise<Server> {
  const port = await freePort();
  const child = spawn('python3', variant.args(port), { stdio: ['ignore', 'ignore', 'ignore'] });
  const endpoint = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${variant.name} exited (${child.exitCode})`);
    try {
      if ((await fetch(`${endpoint}/moto-api/`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${variant.name} did not answer in 60 s`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const config = {
    endpoint,
    region: 'eu-west-1',
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
    forcePathStyle: true,
    maxAttempts: 1,
  };
  return {
    variant,
    child,
    endpoint,
    s3: new S3Client(config),
    ddb: new DynamoDBClient(config),
    cw: new CloudWatchClient(config),
    sns: new SNSClient(config),
  };
}

const BUCKET = 'bench-moto-requests';
const TABLE = 'bench-moto-requests';

/** Resets the server and makes the bucket, table and topic again: 4 requests. */
async function fresh(s: Server): Promise<void> {
  const res = await fetch(`${s.endpoint}/moto-api/reset`, { method: 'POST' });
  if (!res.ok) throw new Error(`reset: ${res.status}`);
  await s.s3.send(
    new CreateBucketCommand({
      Bucket: BUCKET,
      CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' },
    }),
  );
  await s.ddb.send(
    new CreateTableCommand({
      TableName: TABLE,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'S' },
      ],
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
    }),
  );
  s.topicArn = (await s.sns.send(new CreateTopicCommand({ Name: 'bench' }))).TopicArn;
}

/** ITERATIONS × 10 requests, plus 4 per reset every 10 iterations. Returns the count. */
async function mix(s: Server, iterations: number): Promise<number> {
  let requests = 0;
  for (let i = 0; i < iterations; i++) {
    if (i % 10 === 0) {
      await fresh(s);
      requests += 4;
    }
    const key = `records/2026/12/07/${i}.json`;
    const body = JSON.stringify({ i, text: 'x'.repeat(400), labels: ['a', 'b'] });
    await s.s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }));
    await (await s.s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }))).Body?.transformToString();
    await s.s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }));
    await s.s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'records/' }));
    await s.ddb.send(
      new PutItemCommand({ TableName: TABLE, Item: { pk: { S: 'm' }, sk: { S: String(i) }, n: { N: '1' } } }),
    );
    await s.ddb.send(new GetItemCommand({ TableName: TABLE, Key: { pk: { S: 'm' }, sk: { S: String(i) } } }));
    await s.ddb.send(
      new QueryCommand({
        TableName: TABLE,
        KeyConditionExpression: 'pk = :p',
        ExpressionAttributeValues: { ':p': { S: 'm' } },
      }),
    );
    await s.cw.send(
      new PutMetricDataCommand({
        Namespace: 'Bench',
        MetricData: [{ MetricName: 'Latency', Value: i, Unit: 'Milliseconds' }],
      }),
    );
    await s.sns.send(new PublishCommand({ TopicArn: s.topicArn, Message: `message ${i}` }));
    await fetch(`${s.endpoint}/moto-api/`).then((r) => r.arrayBuffer());
    requests += 10;
  }
  return requests;
}

async function main(): Promise<void> {
  const loadBefore = loadavg().map((l) => l.toFixed(2));
  const servers: Server[] = [];
  try {
    for (const v of VARIANTS) servers.push(await start(v));
    // First use: moto imports each service's code. Not counted.
    for (const s of servers) await mix(s, 2);
    const perRequest = new Map<string, number[]>(VARIANTS.map((v) => [v.name, []]));
    /** The SDK's side (this process): a server that closes each connection costs the client too. */
    const clientPerRequest = new Map<string, number[]>(VARIANTS.map((v) => [v.name, []]));
    for (let round = 0; round < ROUNDS; round++) {
      // A different first variant each round, so a load swing does not always land on the same one.
      const order = servers.map((_, i) => servers[(i + round) % servers.length]);
      for (const s of order) {
        const before = cpuMs(s.child.pid!);
        const clientBefore = process.cpuUsage();
        const n = await mix(s, ITERATIONS);
        const client = process.cpuUsage(clientBefore);
        perRequest.get(s.variant.name)!.push((cpuMs(s.child.pid!) - before) / n);
        clientPerRequest.get(s.variant.name)!.push((client.user + client.system) / 1000 / n);
      }
    }
    console.log(
      `moto CPU per request, median of ${ROUNDS} rounds of ${ITERATIONS * 10 + Math.ceil(ITERATIONS / 10) * 4} requests; ` +
        `node ${process.version}; load before ${loadBefore.join(' ')}, after ${loadavg()
          .map((l) => l.toFixed(2))
          .join(' ')}`,
    );
    const base = median(perRequest.get(VARIANTS[0].name)!);
    for (const v of VARIANTS) {
      const xs = perRequest.get(v.name)!;
      const m = median(xs);
      const client = median(clientPerRequest.get(v.name)!);
      console.log(
        `${m.toFixed(2).padStart(6)} ms  ×${(m / base).toFixed(2)}  client ${client.toFixed(2)} ms  ${v.name}   ` +
          `(rounds: ${xs.map((x) => x.toFixed(2)).join(' ')})`,
      );
    }
  } finally {
    for (const s of servers) s.child.kill('SIGTERM');
  }
}

void main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
