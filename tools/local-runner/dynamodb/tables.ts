import {
  CreateTableCommand,
  UpdateTimeToLiveCommand,
  type AttributeDefinition,
  type CreateTableCommandInput,
  type DynamoDBClient,
  type GlobalSecondaryIndex,
  type KeySchemaElement,
} from '@aws-sdk/client-dynamodb';
import type { CfnTemplate } from '../template.ts';

/** The subset of an AWS::DynamoDB::Table resource's properties that DynamoDB Local needs. */
interface TableProperties {
  KeySchema: KeySchemaElement[];
  AttributeDefinitions: AttributeDefinition[];
  GlobalSecondaryIndexes?: GlobalSecondaryIndex[];
  StreamSpecification?: { StreamViewType: string };
  TimeToLiveSpecification?: { AttributeName: string; Enabled: boolean };
}

export function tableResources(template: CfnTemplate): Array<[logicalId: string, properties: TableProperties]> {
  return Object.entries(template.Resources)
    .filter(([, resource]) => resource.Type === 'AWS::DynamoDB::Table')
    .map(([logicalId, resource]) => [logicalId, resource.Properties as TableProperties]);
}

/** Creates, in DynamoDB Local, every table of a synthesized template: keys, GSIs, stream and TTL as declared. */
export async function createTablesFromTemplate(
  client: DynamoDBClient,
  template: CfnTemplate,
  nameFor: (logicalId: string) => string,
): Promise<Record<string, string>> {
  const names: Record<string, string> = {};
  for (const [logicalId, properties] of tableResources(template)) {
    const tableName = nameFor(logicalId);
    const input: CreateTableCommandInput = {
      TableName: tableName,
      KeySchema: properties.KeySchema,
      AttributeDefinitions: properties.AttributeDefinitions,
      BillingMode: 'PAY_PER_REQUEST',
      GlobalSecondaryIndexes: properties.GlobalSecondaryIndexes?.map((index) => ({
        IndexName: index.IndexName,
        KeySchema: index.KeySchema,
        Projection: index.Projection,
      })),
      StreamSpecification: properties.StreamSpecification
        ? { StreamEnabled: true, StreamViewType: properties.StreamSpecification.StreamViewType as 'NEW_AND_OLD_IMAGES' }
        : undefined,
    };
    await client.send(new CreateTableCommand(input));
    if (properties.TimeToLiveSpecification?.Enabled) {
      await client.send(
        new UpdateTimeToLiveCommand({
          TableName: tableName,
          TimeToLiveSpecification: { AttributeName: properties.TimeToLiveSpecification.AttributeName, Enabled: true },
        }),
      );
    }
    names[logicalId] = tableName;
  }
  return names;
}
