/**
 * Invariant 3's capacity half under a traffic change (audit, session 6): while users are on the
 * one-instance standby after a rollback, a surge beyond its capacity is paged by the
 * standby-capacity alarm the model stack synthesizes (lib/constructs/model-monitoring.ts); before it
 * existed nothing watched the standby and the rehearsal failed invariant 3 at +02:01:00.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runScenario } from '../../lib/rehearsal/runner';
import { parseScenario } from '../../lib/rehearsal/scenario';
import { shippedRehearsal } from '../helpers/rehearsal';

it('a surge while everyone is on the standby bridge pages within the minute, and the bridge still ends on the live fleet (regression)', async () => {
  const path = 'test/fixtures/scenarios/standby-surge-paged.yaml';
  const text = readFileSync(join(__dirname, '..', '..', path), 'utf8');
  const report = await runScenario(parseScenario(text, path), shippedRehearsal());
  expect(report.invariants.filter((i) => !i.ok).map((i) => i.name)).toEqual([]);
  expect(report.expectations.filter((e) => !e.ok)).toEqual([]);
  // The rollback at 20 requests a minute found the standby enough: its page says nothing of capacity.
  const rollbackPage = report.pages.find((p) => p.subject.startsWith('Rollback done'));
  expect(rollbackPage?.body).not.toMatch(/capacity/);
  // The surge starts at +02:00:00; the alarm pages at the first minute's end, naming the fix.
  const alarmPage = report.pages.find((p) => /standby-capacity/.test(p.subject));
  expect(alarmPage).toMatchObject({
    at: '+02:01:00',
    body: expect.stringMatching(
      /standby endpoint mlops-document-classifier-standby lacks capacity: .*more than 120 requests per minute per instance.*update-endpoint-weights-and-capacities --endpoint-name mlops-document-classifier-standby/s,
    ),
  });
}, 300_000);
