import { buildPlatform } from '../../lib/platform';
import { ConfigFixture, EXAMPLE_MODEL, newApp } from '../helpers/config-fixture';
import { shippedPlatform } from '../helpers/shipped-platform';

describe('ModelStack', () => {
  const { models } = shippedPlatform();
  const stack = models[0]!;
  const template = stack.template;

  test('one stack per model file, named so an operator can read it', () => {
    expect(models.map((m) => m.stackName)).toEqual(['mlops-document-classifier']);
    expect(stack.region).toBe('eu-west-1');
    expect(stack.account).toBe('123456789012');
  });

  test('publishes the release settings the gates apply, under a readable SSM path', () => {
    const params = template.findResources('AWS::SSM::Parameter');
    const [param] = Object.values(params);
    expect(param.Properties.Name).toBe('/mlops/models/document-classifier/release-settings');
    const settings = JSON.parse(param.Properties.Value);
    expect(settings.thresholds.maxAccuracyDrop).toBe(0.02);
    expect(settings.evalSets.map((s: { name: string }) => s.name)).toEqual([
      'golden_set',
      'production_sample',
    ]);
    expect(settings.pricing.asOf).toBe('2026-11-01');
    // Standard-tier parameters hold at most 4 KB.
    expect(Buffer.byteLength(param.Properties.Value)).toBeLessThan(4096);
  });

  test('carries the platform tags plus the model and its owning team', () => {
    const [param] = Object.values(template.findResources('AWS::SSM::Parameter'));
    expect(param.Properties.Tags).toMatchObject({
      Model: 'document-classifier',
      OwnerTeam: 'document-intelligence',
      CostCenter: 'ml-platform',
      Platform: 'mlops',
    });
  });

  test('a second model file gives a second stack', () => {
    const fixture = new ConfigFixture();
    try {
      fixture.write(
        'models/ticket-router.yaml',
        fixture.read(EXAMPLE_MODEL).replace('name: document-classifier', 'name: ticket-router'),
      );
      const built = buildPlatform(newApp(), fixture.load());
      expect(built.models.map((m) => m.stackName)).toEqual([
        'mlops-document-classifier',
        'mlops-ticket-router',
      ]);
    } finally {
      fixture.dispose();
    }
  });
});
