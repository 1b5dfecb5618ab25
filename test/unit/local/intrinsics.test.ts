import { describe, expect, it } from 'vitest';
import { createIntrinsicResolver, UnsupportedIntrinsicError } from '../../../tools/local-runner/intrinsics.ts';

const resolve = createIntrinsicResolver({
  ref: (id) => `ref:${id}`,
  getAtt: (id, attribute) => `${id}#${attribute}`,
  mappings: { Sizes: { small: { memory: 128 } } },
});

describe('CloudFormation intrinsics', () => {
  it('Ref of a resource goes to the callback, of a pseudo parameter to its local value', () => {
    expect(resolve({ Ref: 'Table' })).toBe('ref:Table');
    expect(resolve({ Ref: 'AWS::Region' })).toBe('us-east-1');
    expect(resolve({ Ref: 'AWS::AccountId' })).toBe('000000000000');
    expect(resolve({ Ref: 'AWS::Partition' })).toBe('aws');
  });

  it('Fn::GetAtt in both forms', () => {
    expect(resolve({ 'Fn::GetAtt': ['Fn', 'Arn'] })).toBe('Fn#Arn');
    expect(resolve({ 'Fn::GetAtt': 'Queue.QueueName' })).toBe('Queue#QueueName');
  });

  it('Fn::Join of nested intrinsics, as in a synthesized DefinitionString', () => {
    expect(resolve({ 'Fn::Join': ['', ['{"FunctionName":"', { 'Fn::GetAtt': ['Fn', 'Arn'] }, '","p":"', { Ref: 'AWS::Partition' }, '"}']] })).toBe(
      '{"FunctionName":"Fn#Arn","p":"aws"}',
    );
  });

  it('Fn::Sub with refs, attributes, a variable map and ${!Literal}', () => {
    expect(resolve({ 'Fn::Sub': 'arn:${AWS::Partition}:x:${AWS::Region}:${Table}/${Fn.Arn}/${!Keep}' })).toBe('arn:aws:x:us-east-1:ref:Table/Fn#Arn/${Keep}');
    expect(resolve({ 'Fn::Sub': ['${A}-${B}', { A: 'one', B: { Ref: 'Thing' } }] })).toBe('one-ref:Thing');
  });

  it('Fn::Select and Fn::Split', () => {
    expect(resolve({ 'Fn::Select': [6, { 'Fn::Split': [':', 'arn:aws:states:us-east-1:000000000000:stateMachine:Saga'] }] })).toBe('Saga');
    expect(() => resolve({ 'Fn::Select': [3, ['a']] })).toThrow(UnsupportedIntrinsicError);
  });

  it('Fn::FindInMap and Fn::Base64', () => {
    expect(resolve({ 'Fn::FindInMap': ['Sizes', 'small', 'memory'] })).toBe(128);
    expect(resolve({ 'Fn::Base64': 'hi' })).toBe('aGk=');
  });

  it('resolves inside objects and arrays, leaves plain values alone, refuses what it does not know', () => {
    expect(resolve({ Env: { Variables: { T: { Ref: 'Table' }, N: 3 } }, L: [{ Ref: 'X' }, true, null] })).toEqual({
      Env: { Variables: { T: 'ref:Table', N: 3 } },
      L: ['ref:X', true, null],
    });
    expect(() => resolve({ 'Fn::If': ['Cond', 'a', 'b'] })).toThrow(UnsupportedIntrinsicError);
  });
});
