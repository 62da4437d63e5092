/**
 * Whether moto's DynamoDB keeps a conditional write atomic when requests arrive at once, as DynamoDB
 * does (test/setup/moto-server.py, AtomicDynamoDB, cites the doc). The rollback ledger's claim is a
 * conditional put; test/lambdas/rollback.test.ts "two invocations at once" relies on exactly one of
 * two concurrent claims winning.
 *
 *   AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true npx tsx bench/moto-conditional-put-race.ts [--tries N]
 *
 * For each server (stock `python3 -m moto.server`, threaded, and test/setup/moto-server.py), sends N
 * times three concurrent PutItem of one new key with `attribute_not_exists(pk)`, and counts the tries
 * where more than one succeeded (DynamoDB: never). The race needs a thread switch between moto's
 * condition check and its store, so it shows more on a loaded machine: run busy loops beside it to
 * see it (the load average is printed). Prints figures only.
 */
import { spawn } from 'node:child_process';
import { loadavg } from 'node:os';
import * as path from 'node:path';
import { CreateTableCommand, DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { freePort } from './measure';

const tries = Number(process.argv[process.argv.indexOf('--tries') + 1] || 500);

const SERVERS = [
  {
    name: 'python3 -m moto.server',
    args: (p: number) => ['-P', '-m', 'moto.server', '-H', '127.0.0.1', '-p', `${p}`],
  },
  {
    name: 'test/setup/moto-server.py',
    args: (p: number) => ['-P', path.resolve(__dirname, '../test/setup/moto-server.py'), `${p}`],
  },
];

async function race(args: (port: number) => string[]): Promise<number> {
  const port = await freePort();
  const child = spawn('python3', args(port), { stdio: 'ignore' });
  const endpoint = `http://127.0.0.1:${port}`;
  try {
    for (let waited = 0; ; waited += 100) {
      if (waited > 90_000) throw new Error(`moto did not answer on ${endpoint}`);
      if (
        await fetch(`${endpoint}/moto-api/`).then(
          (r) => r.ok,
          () => false,
        )
      )
        break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const ddb = new DynamoDBClient({
      endpoint,
      region: 'eu-west-1',
      credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
      maxAttempts: 1,
    });
    await ddb.send(
      new CreateTableCommand({
        TableName: 'claims',
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
        AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
    let doubled = 0;
    for (let i = 0; i < tries; i++) {
      const claim = () =>
        ddb
          .send(
            new PutItemCommand({
              TableName: 'claims',
              // A larger item: more work between moto's condition check and its store.
              Item: { pk: { S: `claim-${i}` }, record: { S: 'x'.repeat(20_000) } },
              ConditionExpression: 'attribute_not_exists(pk)',
            }),
          )
          .then(
            () => 1,
            () => 0,
          );
      const won = (await Promise.all([claim(), claim(), claim()])).reduce((a, b) => a + b, 0);
      if (won > 1) doubled++;
    }
    return doubled;
  } finally {
    child.kill('SIGTERM');
  }
}

async function main(): Promise<void> {
  for (const server of SERVERS) {
    const doubled = await race(server.args);
    console.log(
      `${server.name}: ${doubled} of ${tries} tries had more than one winner (load average ${loadavg()[0]!.toFixed(1)})`,
    );
  }
}

void main();
