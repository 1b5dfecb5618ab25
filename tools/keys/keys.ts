/**
 * `npm run keys -- <command>`: a merchant's API keys, kept in cdk.json's `payflow:merchants` (the stack creates one
 * API Gateway key per entry, in the merchant's tier's usage plan, and tells the API functions which merchant each
 * key belongs to). Edits cdk.json only; `npx cdk deploy` (or restarting `npm start`) applies it.
 *
 *   npm run keys -- list
 *   npm run keys -- add <merchant> <key-name>       a second active key, to rotate to
 *   npm run keys -- revoke <merchant> <key-name>    disabled: API Gateway answers it 403; payments stay the merchant's
 *   npm run keys -- remove <merchant> <key-name>    deletes a revoked key's resource
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';

interface MerchantKey {
  name: string;
  revoked?: boolean;
}
interface MerchantEntry {
  id: string;
  tier: string;
  keys?: MerchantKey[];
}

const NAME = /^[a-z0-9][a-z0-9-]*$/;

export function applyKeyCommand(merchants: MerchantEntry[], [command, merchantId, keyName]: string[]): { merchants: MerchantEntry[]; message: string } {
  if (command === 'list' || command === undefined) {
    const lines = merchants.flatMap((m) => (m.keys ?? [{ name: 'primary' }]).map((k) => `${m.id}\t${m.tier}\t${k.name}\t${k.revoked ? 'revoked' : 'active'}`));
    return { merchants, message: ['merchant\ttier\tkey\tstate', ...lines].join('\n') };
  }
  if (!merchantId || !keyName) throw new Error(`usage: npm run keys -- ${command} <merchant> <key-name>`);
  if (!NAME.test(keyName)) throw new Error(`key name ${keyName}: lower-case letters, digits and dashes`);
  const merchant = merchants.find((m) => m.id === merchantId);
  if (!merchant) throw new Error(`no merchant ${merchantId} in payflow:merchants`);
  const keys = merchant.keys ?? [{ name: 'primary' }];
  const key = keys.find((k) => k.name === keyName);
  const active = keys.filter((k) => !k.revoked);
  let message: string;
  switch (command) {
    case 'add':
      if (key) throw new Error(`${merchantId} already has a key ${keyName}`);
      if (active.length >= 2) throw new Error(`${merchantId} already has two active keys (${active.map((k) => k.name).join(', ')}): revoke one first`);
      keys.push({ name: keyName });
      message = `added key ${keyName} to ${merchantId}; after deploying, its value: aws apigateway get-api-key --include-value --api-key <output ApiKeyId...>`;
      break;
    case 'revoke':
      if (!key) throw new Error(`${merchantId} has no key ${keyName}`);
      key.revoked = true;
      message = `revoked key ${keyName} of ${merchantId}; deploy to disable it (immediately, by hand: aws apigateway update-api-key --api-key <id> --patch-operations op=replace,path=/enabled,value=false)`;
      break;
    case 'remove':
      if (!key) throw new Error(`${merchantId} has no key ${keyName}`);
      if (!key.revoked) throw new Error(`revoke ${keyName} first (remove deletes only revoked keys)`);
      keys.splice(keys.indexOf(key), 1);
      if (keys.length === 0) throw new Error(`${merchantId} would have no key left`);
      message = `removed key ${keyName} of ${merchantId}`;
      break;
    default:
      throw new Error(`unknown command ${command}: list, add, revoke, remove`);
  }
  merchant.keys = keys;
  return { merchants, message };
}

function main(): void {
  const file = resolve(import.meta.dirname, '../../cdk.json');
  const cdkJson = JSON.parse(readFileSync(file, 'utf8')) as { context: Record<string, unknown> };
  const merchants = cdkJson.context['payflow:merchants'] as MerchantEntry[];
  const { message } = applyKeyCommand(merchants, process.argv.slice(2));
  if (process.argv[2] && process.argv[2] !== 'list') writeFileSync(file, `${JSON.stringify(cdkJson, null, 2)}\n`);
  console.log(message);
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  try {
    main();
  } catch (error) {
    console.error((error as Error).message);
    process.exit(1);
  }
}
