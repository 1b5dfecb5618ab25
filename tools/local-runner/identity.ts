/** The account and region a local stack lives in: what ARNs and the `AWS::Region` / `AWS::AccountId` pseudo parameters say. */
export interface LocalIdentity {
  readonly region: string;
  readonly accountId: string;
}

export const LOCAL_REGION = 'us-east-1';
export const LOCAL_ACCOUNT_ID = '000000000000';

export const LOCAL_IDENTITY: LocalIdentity = { region: LOCAL_REGION, accountId: LOCAL_ACCOUNT_ID };
