import { describe, expect, it } from 'vitest';
import { matchesFilterCriteria, matchesPattern, reportedFailures, UnsupportedFilterError } from '../../../tools/local-runner/event-source-mappings/mapping.ts';

const paymentInsert = {
  eventName: 'INSERT',
  dynamodb: { NewImage: { entity: { S: 'payment' }, amount: { N: '2500' }, tags: { SS: ['a', 'b'] } } },
};

describe('Local event filtering: FilterCriteria as Lambda applies it', () => {
  it('matches the relay filter of the template: exact-value lists and nested keys', () => {
    const criteria = { Filters: [{ Pattern: JSON.stringify({ eventName: ['INSERT', 'MODIFY'], dynamodb: { NewImage: { entity: { S: ['payment', 'refund'] } } } }) }] };
    expect(matchesFilterCriteria(criteria, paymentInsert)).toBe(true);
    expect(matchesFilterCriteria(criteria, { ...paymentInsert, eventName: 'REMOVE' })).toBe(false);
    expect(matchesFilterCriteria(criteria, { eventName: 'INSERT', dynamodb: { NewImage: { entity: { S: 'posting' } } } })).toBe(false);
    expect(matchesFilterCriteria(criteria, { eventName: 'MODIFY', dynamodb: { OldImage: {} } })).toBe(false);
  });

  it('ORs the filters and lets everything through without any', () => {
    const criteria = { Filters: [{ Pattern: '{"eventName":["REMOVE"]}' }, { Pattern: '{"eventName":["INSERT"]}' }] };
    expect(matchesFilterCriteria(criteria, paymentInsert)).toBe(true);
    expect(matchesFilterCriteria(undefined, paymentInsert)).toBe(true);
    expect(matchesFilterCriteria({ Filters: [] }, paymentInsert)).toBe(true);
  });

  it.each([
    [{ eventName: [{ prefix: 'INS' }] }, true],
    [{ eventName: [{ suffix: 'ERT' }] }, true],
    [{ eventName: [{ 'equals-ignore-case': 'insert' }] }, true],
    [{ eventName: [{ 'anything-but': ['INSERT'] }] }, false],
    [{ eventName: [{ 'anything-but': 'REMOVE' }] }, true],
    [{ dynamodb: { NewImage: { amount: { N: [{ numeric: ['>', 1000, '<=', 2500] }] } } } }, true],
    [{ dynamodb: { NewImage: { amount: { N: [{ numeric: ['<', 1000] }] } } } }, false],
    [{ dynamodb: { NewImage: { failureCode: [{ exists: false }] } } }, true],
    [{ dynamodb: { NewImage: { entity: [{ exists: true }] } } }, true],
    [{ dynamodb: { NewImage: { tags: { SS: ['b'] } } } }, true],
    [{ dynamodb: { NewImage: { entity: { S: [null] } } } }, false],
  ])('pattern %j → %s', (pattern, expected) => {
    expect(matchesPattern(pattern, paymentInsert)).toBe(expected);
  });

  it('refuses rules it does not implement rather than guess', () => {
    expect(() => matchesPattern({ eventName: [{ cidr: '10.0.0.0/24' }] }, paymentInsert)).toThrow(UnsupportedFilterError);
    expect(() => matchesPattern({ eventName: 'INSERT' }, paymentInsert)).toThrow(UnsupportedFilterError);
  });
});

describe('Local partial batch responses: what Lambda reads from batchItemFailures', () => {
  const mapping = { FunctionResponseTypes: ['ReportBatchItemFailures'] };
  const inBatch = new Set(['1', '2', '3']);

  it('nothing failed: no response, an empty list, or a mapping without ReportBatchItemFailures', () => {
    expect(reportedFailures(mapping, undefined, inBatch)).toBeUndefined();
    expect(reportedFailures(mapping, { batchItemFailures: [] }, inBatch)).toBeUndefined();
    expect(reportedFailures({}, { batchItemFailures: [{ itemIdentifier: '2' }] }, inBatch)).toBeUndefined();
  });

  it('the reported identifiers', () => {
    expect(reportedFailures(mapping, { batchItemFailures: [{ itemIdentifier: '3' }, { itemIdentifier: '2' }] }, inBatch)).toEqual(new Set(['2', '3']));
  });

  it('the whole batch when an identifier is empty, not a string or not in the batch', () => {
    expect(reportedFailures(mapping, { batchItemFailures: [{ itemIdentifier: '' }] }, inBatch)).toBe('all');
    expect(reportedFailures(mapping, { batchItemFailures: [{ itemIdentifier: 2 }] }, inBatch)).toBe('all');
    expect(reportedFailures(mapping, { batchItemFailures: [{ itemIdentifier: '9' }] }, inBatch)).toBe('all');
  });
});
