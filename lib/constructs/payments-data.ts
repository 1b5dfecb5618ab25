import { RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, BillingMode, ProjectionType, StreamViewType, Table, TableEncryption } from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';

export interface PaymentsDataProps {
  /** DESTROY for throwaway dev stacks; RETAIN (the default) keeps payment data when a stack is deleted. */
  readonly removalPolicy: RemovalPolicy;
}

/** The tables: payments (single table, its stream is the outbox), idempotency records, and the simulated processor's own records. */
export class PaymentsData extends Construct {
  static readonly OPEN_ITEMS_INDEX = 'open-items';
  static readonly LOOKUP_INDEX = 'lookup';
  static readonly CAPTURE_POSTINGS_BY_DAY_INDEX = 'capture-postings-by-day';
  static readonly CAPTURES_BY_DAY_INDEX = 'captures-by-day';

  readonly paymentsTable: Table;
  readonly idempotencyTable: Table;
  readonly processorTable: Table;
  /** The processor's circuit breaker: its state and failure counts per window (TTL). */
  readonly circuitBreakerTable: Table;
  /** The daily reconciliation's reports: per day, its counts and each finding. */
  readonly dailyReportsTable: Table;

  constructor(scope: Construct, id: string, props: PaymentsDataProps) {
    super(scope, id);
    const common = {
      billingMode: BillingMode.PAY_PER_REQUEST,
      encryption: TableEncryption.AWS_MANAGED,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      removalPolicy: props.removalPolicy,
    };

    this.paymentsTable = new Table(this, 'PaymentsTable', {
      ...common,
      partitionKey: { name: 'PK', type: AttributeType.STRING },
      sortKey: { name: 'SK', type: AttributeType.STRING },
      stream: StreamViewType.NEW_AND_OLD_IMAGES,
    });
    // Sparse and keys-only: a refund is in it only while it is pending, so that reconciliation finds
    // stuck refunds without a scan (creation and the terminal write pay an index write each). Payments
    // are no longer written into it: reconciliation reads them per merchant from the lookup index; the
    // ones earlier versions put here leave it with their terminal write. Its partition key has one value
    // per entity, so all its writes go to one index partition.
    this.paymentsTable.addGlobalSecondaryIndex({
      indexName: PaymentsData.OPEN_ITEMS_INDEX,
      partitionKey: { name: 'openEntity', type: AttributeType.STRING },
      sortKey: { name: 'createdAt', type: AttributeType.STRING },
      projectionType: ProjectionType.KEYS_ONLY,
    });
    // Sparse and keys-only, keys written once when a payment or refund is created and never changed:
    // a merchant's payments newest first (the lists; reconciliation reads them oldest first) and a refund by its id. One index write unit per
    // payment and per refund; status changes write nothing to it. A page reads the items back by key.
    this.paymentsTable.addGlobalSecondaryIndex({
      indexName: PaymentsData.LOOKUP_INDEX,
      partitionKey: { name: 'lookupPK', type: AttributeType.STRING },
      sortKey: { name: 'lookupSK', type: AttributeType.STRING },
      projectionType: ProjectionType.KEYS_ONLY,
    });

    // Sparse: only capture postings carry postedDay, so the daily reconciliation reads a day's captures
    // with one Query, and each payment pays one index write (its capture posting, never updated).
    this.paymentsTable.addGlobalSecondaryIndex({
      indexName: PaymentsData.CAPTURE_POSTINGS_BY_DAY_INDEX,
      partitionKey: { name: 'postedDay', type: AttributeType.STRING },
      sortKey: { name: 'PK', type: AttributeType.STRING },
      projectionType: ProjectionType.INCLUDE,
      nonKeyAttributes: ['paymentId', 'currency', 'lines', 'createdAt', 'authorizationId'],
    });

    this.idempotencyTable = new Table(this, 'IdempotencyTable', {
      ...common,
      partitionKey: { name: 'id', type: AttributeType.STRING },
      timeToLiveAttribute: 'expiration',
    });

    this.processorTable = new Table(this, 'SimulatedProcessorTable', {
      ...common,
      partitionKey: { name: 'key', type: AttributeType.STRING },
      timeToLiveAttribute: 'expiresAt',
    });
    // Sparse: only succeeded captures carry capturedDay. What reconciliation compares is projected; a
    // refund (refundedAmount) or a reversing void (reversedAt) rewrites the capture's index entry.
    this.processorTable.addGlobalSecondaryIndex({
      indexName: PaymentsData.CAPTURES_BY_DAY_INDEX,
      partitionKey: { name: 'capturedDay', type: AttributeType.STRING },
      sortKey: { name: 'key', type: AttributeType.STRING },
      projectionType: ProjectionType.INCLUDE,
      nonKeyAttributes: ['reference', 'captureId', 'authorizationId', 'amount', 'currency', 'createdAt', 'refundedAmount', 'reversedAt'],
    });

    // A few tiny items, read once per authorization: its own table so that only Authorize is granted it.
    this.circuitBreakerTable = new Table(this, 'CircuitBreakerTable', {
      ...common,
      partitionKey: { name: 'key', type: AttributeType.STRING },
      timeToLiveAttribute: 'expiresAt',
    });

    this.dailyReportsTable = new Table(this, 'DailyReportsTable', {
      ...common,
      partitionKey: { name: 'day', type: AttributeType.STRING },
      sortKey: { name: 'item', type: AttributeType.STRING },
    });
  }
}
