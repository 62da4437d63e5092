/**
 * The emulated CreateEndpointConfig refuses what SageMaker refuses and synth, cfn-lint and moto
 * accept: with ShadowProductionVariants, "you can only specify one variant for ProductionVariants and
 * one variant for ShadowProductionVariants" (API_CreateEndpointConfig).
 */
import { CreateEndpointConfigCommand } from '@aws-sdk/client-sagemaker';
import { Cloud } from '../../lib/rehearsal/cloud';
import { clients } from '../../lib/rehearsal/clients';
import { Random } from '../../lib/rehearsal/random';

const variant = (name: string) => ({
  VariantName: name,
  ModelName: `model-${name}`,
  InstanceType: 'ml.g5.xlarge' as const,
  InitialInstanceCount: 1,
});

function create(production: string[], shadow: string[]): Promise<unknown> {
  const sagemaker = clients(new Cloud(Date.parse('2026-01-05T09:00:00Z'), new Random(1), [])).sagemaker;
  // The fake client takes what the handlers' SDK clients are given: a command object.
  type Sent = Parameters<typeof sagemaker.send>[0];
  return sagemaker.send(
    new CreateEndpointConfigCommand({
      EndpointConfigName: 'shadowed',
      ProductionVariants: production.map(variant),
      ShadowProductionVariants: shadow.map(variant),
    }) as unknown as Sent,
  );
}

describe('CreateEndpointConfig with shadow variants in the rehearsal', () => {
  it('accepts one production variant beside one shadow variant', async () => {
    await expect(create(['live'], ['shadow'])).resolves.toMatchObject({
      EndpointConfigArn: expect.any(String),
    });
  });

  it.each([
    ['two shadow variants', ['live'], ['shadow-a', 'shadow-b']],
    ['two production variants', ['live', 'other'], ['shadow']],
  ])('refuses %s, as SageMaker does', async (_what, production, shadow) => {
    await expect(create(production, shadow)).rejects.toMatchObject({
      name: 'ValidationException',
      message: expect.stringMatching(/exactly one production variant and one shadow variant/),
    });
  });
});
