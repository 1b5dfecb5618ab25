// Key rotation (issue 11): a merchant's keys are API Gateway keys in its tier's plan; the API functions learn which
// merchant each active key belongs to from their environment; a revoked key is disabled and unlisted.
import { beforeAll, describe, expect, it } from 'vitest';
import { applyKeyCommand } from '../../tools/keys/keys.ts';
import { referencedLogicalId, resourcesOfType, synthesize, type Synthesized } from './synth.ts';

let rotating: Synthesized;
beforeAll(() => {
  rotating = synthesize({
    'payflow:merchants': [
      { id: 'shop', tier: 'standard', keys: [{ name: 'primary', revoked: true }, { name: 'next' }, { name: 'spare' }] },
      { id: 'other', tier: 'trial' },
    ],
  });
}, 180_000);

const keyIdOf = (synthesized: Synthesized, logicalIdPrefix: string) =>
  resourcesOfType(synthesized.json, 'AWS::ApiGateway::ApiKey').find(([id]) => id.startsWith(logicalIdPrefix))!;

describe('a merchant with several keys', () => {
  it('one API key per entry, the revoked one disabled, each in the tier plan; primary keeps the original resource id', () => {
    expect(resourcesOfType(rotating.json, 'AWS::ApiGateway::ApiKey')).toHaveLength(4);
    expect(keyIdOf(rotating, 'ApiShopApiKey')[1].Properties?.Enabled).toBe(false);
    expect(keyIdOf(rotating, 'ApiShopNextApiKey')[1].Properties?.Enabled).toBe(true);
    const planKeys = resourcesOfType(rotating.json, 'AWS::ApiGateway::UsagePlanKey').map(([, r]) => referencedLogicalId(r.Properties?.KeyId));
    expect(planKeys).toHaveLength(4);
    expect(Object.keys(rotating.json.Outputs ?? {})).toEqual(expect.arrayContaining(['ApiKeyIdShop', 'ApiKeyIdShopNext', 'ApiKeyIdShopSpare', 'ApiKeyIdOther']));
  });

  it('every API function lists exactly the active keys with their merchant', () => {
    const functions = resourcesOfType(rotating.json, 'AWS::Lambda::Function').filter(([, fn]) => fn.Properties?.Environment?.Variables?.MERCHANT_API_KEYS);
    expect(functions.length).toBe(8);
    for (const [, fn] of functions) {
      const text = JSON.stringify(fn.Properties?.Environment.Variables.MERCHANT_API_KEYS);
      const referenced = [...text.matchAll(/"Ref":"([A-Za-z0-9]+)"/g)].map((match) => match[1]!);
      expect(referenced.map((id) => id.replace(/[0-9A-F]{8}$/, '')).sort()).toEqual(['ApiOtherApiKey', 'ApiShopNextApiKey', 'ApiShopSpareApiKey']);
      expect(text).toContain('\\"shop\\"');
      expect(text).toContain('\\"other\\"');
    }
  });

  it('two keys of one name fail synthesis', () => {
    expect(() => synthesize({ 'payflow:merchants': [{ id: 'shop', tier: 'standard', keys: [{ name: 'a' }, { name: 'a' }] }] })).toThrow(/two keys of one name/);
  });
});

describe('npm run keys', () => {
  const merchants = (): Array<{ id: string; tier: string; keys?: Array<{ name: string; revoked?: boolean }> }> => [{ id: 'shop', tier: 'standard' }];
  it('adds a second key, refuses a third active one, revokes, removes only revoked keys', () => {
    const list = merchants();
    applyKeyCommand(list, ['add', 'shop', 'next']);
    expect(list[0]).toEqual({ id: 'shop', tier: 'standard', keys: [{ name: 'primary' }, { name: 'next' }] });
    expect(() => applyKeyCommand(list, ['add', 'shop', 'third'])).toThrow(/two active keys/);
    expect(() => applyKeyCommand(list, ['remove', 'shop', 'primary'])).toThrow(/revoke primary first/);
    applyKeyCommand(list, ['revoke', 'shop', 'primary']);
    applyKeyCommand(list, ['remove', 'shop', 'primary']);
    expect(list[0]!.keys).toEqual([{ name: 'next' }]);
    expect(() => applyKeyCommand(list, ['add', 'nobody', 'x'])).toThrow(/no merchant nobody/);
  });
});
