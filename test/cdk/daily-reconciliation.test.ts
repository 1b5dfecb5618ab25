import { beforeAll, describe, expect, it } from 'vitest';
import { DAILY_RECONCILIATION_METRICS } from '../../lambdas/application/daily-reconciliation.ts';
import { buildApp } from '../../lib/app.ts';
import { logicalIdOf, referencedLogicalId, resourcesOfType, synthesize, type CfnTemplate, type Synthesized } from './synth.ts';

let simulated: Synthesized;
let stripe: Synthesized;
let stripeWithArn: Synthesized;
const SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:payflow/stripe-AbCdEf';

beforeAll(() => {
  simulated = synthesize();
  stripe = synthesize({ 'payflow:processor': 'stripe' });
  stripeWithArn = synthesize({ 'payflow:processor': 'stripe', 'payflow:stripeSecretArn': SECRET_ARN });
});

const PROCESSOR_CALLERS = ['SagaAuthorizeFunction', 'SagaCaptureFunction', 'SagaVoidAuthorizationFunction', 'SagaRefundCaptureFunction', 'SagaRefundAtProcessorFunction'];
const DAILY = 'DailyReconciliationReconcileDay';

/** Every Allow statement of the role of the function whose id starts with `prefix`, with resources as logical ids where they refer to one. */
function statementsOf(json: CfnTemplate, prefix: string): Array<{ actions: string[]; resource: string }> {
  const fnId = logicalIdOf(json, 'AWS::Lambda::Function', prefix);
  const roleId = referencedLogicalId(json.Resources[fnId]!.Properties!.Role);
  return resourcesOfType(json, 'AWS::IAM::Policy')
    .filter(([, policy]) => (policy.Properties!.Roles as unknown[]).some((role) => referencedLogicalId(role) === roleId))
    .flatMap(([, policy]) => policy.Properties!.PolicyDocument.Statement as Array<{ Action: string | string[]; Resource: unknown }>)
    .flatMap((statement) => [statement.Resource].flat().map((resource) => ({ actions: [statement.Action].flat(), resource: JSON.stringify(resource) })));
}
const environmentOf = (json: CfnTemplate, prefix: string) => json.Resources[logicalIdOf(json, 'AWS::Lambda::Function', prefix)]!.Properties!.Environment.Variables as Record<string, unknown>;

describe('the daily reconciliation', () => {
  it('runs once a day (rate(1 day): the twin fires it too), on the day before, one run at a time', () => {
    const rule = resourcesOfType(simulated.json, 'AWS::Events::Rule').find(([id]) => id.startsWith('DailyReconciliationSchedule'))![1];
    expect(rule.Properties!.ScheduleExpression).toBe('rate(1 day)');
    expect(referencedLogicalId(rule.Properties!.Targets[0].Arn)).toBe(logicalIdOf(simulated.json, 'AWS::Lambda::Function', DAILY));
    expect(simulated.json.Resources[logicalIdOf(simulated.json, 'AWS::Lambda::Function', DAILY)]!.Properties!.ReservedConcurrentExecutions).toBe(1);
  });

  it('is granted exactly what it calls: the two day indexes, batch reads, the saga posting, its report table, SendMessage', () => {
    const granted = statementsOf(simulated.json, DAILY)
      .filter(({ actions }) => !actions.some((action) => action.startsWith('logs:') || action.startsWith('xray:')))
      .map(({ actions, resource }) => `${[...actions].sort().join(',')} ${resource.replace(/[0-9A-F]{8}"/g, '"')}`)
      .sort();
    expect(granted).toEqual(
      [
        'dynamodb:Query {"Fn::Join":["",[{"Fn::GetAtt":["DataSimulatedProcessorTable","Arn"]},"/index/captures-by-day"]]}',
        'dynamodb:BatchGetItem {"Fn::GetAtt":["DataSimulatedProcessorTable","Arn"]}',
        'dynamodb:Query {"Fn::Join":["",[{"Fn::GetAtt":["DataPaymentsTable","Arn"]},"/index/capture-postings-by-day"]]}',
        'dynamodb:BatchGetItem,dynamodb:GetItem,dynamodb:PutItem,dynamodb:UpdateItem {"Fn::GetAtt":["DataPaymentsTable","Arn"]}',
        'dynamodb:PutItem,dynamodb:Query {"Fn::GetAtt":["DataDailyReportsTable","Arn"]}',
        'sqs:SendMessage {"Fn::GetAtt":["SagaSagaFailuresQueue","Arn"]}',
      ].sort(),
    );
  });

  it('the sparse day indexes: capture postings by postedDay, the simulated processor\'s captures by capturedDay', () => {
    const indexes = (prefix: string) => (simulated.json.Resources[logicalIdOf(simulated.json, 'AWS::DynamoDB::Table', prefix)]!.Properties!.GlobalSecondaryIndexes as Array<Record<string, any>>).map((index) => [index.IndexName, index.KeySchema[0].AttributeName]);
    expect(indexes('DataPaymentsTable')).toContainEqual(['capture-postings-by-day', 'postedDay']);
    expect(indexes('DataSimulatedProcessorTable')).toContainEqual(['captures-by-day', 'capturedDay']);
  });

  it('alarms on any new discrepancy; its messages go to the saga-failures queue, which alarms on depth too', () => {
    const alarm = resourcesOfType(simulated.json, 'AWS::CloudWatch::Alarm')
      .map(([, resource]) => resource.Properties!)
      .find((properties) => JSON.stringify(properties).includes(`"${DAILY_RECONCILIATION_METRICS.discrepancies}"`));
    expect(alarm).toMatchObject({ ComparisonOperator: 'GreaterThanThreshold', Threshold: 0, TreatMissingData: 'notBreaching' });
    expect(referencedLogicalId(environmentOf(simulated.json, DAILY).SAGA_FAILURES_QUEUE_URL)).toMatch(/^SagaSagaFailuresQueue/);
  });

  it('outputs the report table and the function, for npm run reconciliation:report and a rerun by hand', () => {
    expect(referencedLogicalId(simulated.json.Outputs?.DailyReportsTableName?.Value)).toMatch(/^DataDailyReportsTable/);
    expect(referencedLogicalId(simulated.json.Outputs?.DailyReconciliationFunctionName?.Value)).toMatch(new RegExp(`^${DAILY}`));
  });
});

describe('payflow:processor', () => {
  it('simulated (the default): the processor callers use its table; no secret, no layer, nothing of Stripe', () => {
    for (const prefix of PROCESSOR_CALLERS) {
      expect(referencedLogicalId(environmentOf(simulated.json, prefix).PROCESSOR_TABLE_NAME), prefix).toMatch(/^DataSimulatedProcessorTable/);
      expect(environmentOf(simulated.json, prefix).STRIPE_SECRET_ARN).toBeUndefined();
    }
    expect(resourcesOfType(simulated.json, 'AWS::SecretsManager::Secret')).toEqual([]);
    expect(JSON.stringify(simulated.json)).not.toMatch(/secretsmanager|Paramsandsecrets/i);
    expect(simulated.stack.config.processor).toBe('simulated');
  });

  it('stripe: the callers and the daily reconciliation read the key from one secret the stack creates, granted GetSecretValue on it only', () => {
    const secrets = resourcesOfType(stripe.json, 'AWS::SecretsManager::Secret');
    expect(secrets).toHaveLength(1);
    const [secretId, secret] = secrets[0]!;
    expect(secret.Properties!.SecretString).toBeUndefined();
    for (const prefix of [...PROCESSOR_CALLERS, DAILY]) {
      const environment = environmentOf(stripe.json, prefix);
      expect(referencedLogicalId(environment.STRIPE_SECRET_ARN), prefix).toBe(secretId);
      expect(environment.PROCESSOR_TABLE_NAME, prefix).toBeUndefined();
      const secretStatements = statementsOf(stripe.json, prefix).filter(({ actions }) => actions.some((action) => action.startsWith('secretsmanager:')));
      expect(secretStatements, prefix).toEqual([{ actions: ['secretsmanager:GetSecretValue'], resource: JSON.stringify({ Ref: secretId }) }]);
      expect(statementsOf(stripe.json, prefix).some(({ resource }) => resource.includes('DataSimulatedProcessorTable')), prefix).toBe(false);
      const fn = stripe.json.Resources[logicalIdOf(stripe.json, 'AWS::Lambda::Function', prefix)]!;
      expect(JSON.stringify(fn.Properties!.Layers), prefix).toMatch(/Paramsandsecrets/i);
    }
    // No other function may read it.
    const readers = resourcesOfType(stripe.json, 'AWS::IAM::Policy').filter(([, policy]) => JSON.stringify(policy).includes('secretsmanager:'));
    expect(readers).toHaveLength(PROCESSOR_CALLERS.length + 1);
    expect(referencedLogicalId(stripe.json.Outputs?.StripeSecretArn?.Value)).toBe(secretId);
  });

  it('stripe: no key material in the template', () => {
    const text = JSON.stringify(stripe.json);
    expect(text).not.toMatch(/[sr]k_(test|live)_/);
    expect(text).not.toMatch(/"SecretString"/);
  });

  it('stripe with payflow:stripeSecretArn: that secret, granted by its ARN; the stack creates none', () => {
    expect(resourcesOfType(stripeWithArn.json, 'AWS::SecretsManager::Secret')).toEqual([]);
    expect(environmentOf(stripeWithArn.json, 'SagaCaptureFunction').STRIPE_SECRET_ARN).toBe(SECRET_ARN);
    expect(statementsOf(stripeWithArn.json, 'SagaCaptureFunction').find(({ actions }) => actions.includes('secretsmanager:GetSecretValue'))?.resource).toBe(JSON.stringify(SECRET_ARN));
  });

  it('refuses an unknown processor, a partial secret ARN, and a secret ARN without Stripe', () => {
    expect(() => buildApp({ context: { 'payflow:processor': 'adyen' } })).toThrow(/payflow:\* context/);
    expect(() => buildApp({ context: { 'payflow:processor': 'stripe', 'payflow:stripeSecretArn': 'payflow/stripe' } })).toThrow(/complete ARN/);
    expect(() => buildApp({ context: { 'payflow:stripeSecretArn': SECRET_ARN } })).toThrow(/only used with payflow:processor=stripe/);
  });
});
