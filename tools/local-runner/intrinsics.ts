/**
 * Resolves CloudFormation intrinsic functions in a synthesized template fragment, for running the
 * template locally. Generic: what a `Ref` or `Fn::GetAtt` of a resource means locally (a table name,
 * a queue URL, a local ARN ...) is decided by the caller's callbacks.
 *
 * Supported: Ref, Fn::GetAtt (array or "Id.Attr" form), Fn::Join, Fn::Sub (both forms, `${!Literal}`
 * escapes), Fn::Select, Fn::Split, Fn::Base64, Fn::FindInMap (with `mappings`). Anything else that
 * looks like an intrinsic (a one-key object whose key starts with `Fn::`) throws, so that an
 * unsupported template fails loudly instead of running with a half-resolved value.
 */

import { LOCAL_IDENTITY, type LocalIdentity } from './identity.ts';

/** A JSON value of a template, possibly containing intrinsics. */
export type TemplateValue = null | boolean | number | string | TemplateValue[] | { [key: string]: TemplateValue };

export interface IntrinsicCallbacks {
  /** Value of `{"Ref": logicalId}` for a resource or parameter of the template (pseudo parameters are handled first). */
  ref(logicalId: string): TemplateValue;
  /** Value of `{"Fn::GetAtt": [logicalId, attribute]}`. */
  getAtt(logicalId: string, attribute: string): TemplateValue;
}

export interface IntrinsicResolverOptions extends IntrinsicCallbacks {
  /**
   * Values of pseudo parameters (`AWS::Region`, `AWS::AccountId`, ...). Defaults: region us-east-1,
   * account 000000000000, partition aws, URL suffix amazonaws.com; the stack name and a fake stack id
   * only when given a stack name (`defaultPseudoParameters(stackName)`); NoValue is not supported.
   */
  readonly pseudoParameters?: Partial<Record<PseudoParameter, string>>;
  /** The template's `Mappings`, for Fn::FindInMap. */
  readonly mappings?: Record<string, Record<string, Record<string, TemplateValue>>>;
}

export type PseudoParameter =
  | 'AWS::Region'
  | 'AWS::AccountId'
  | 'AWS::Partition'
  | 'AWS::URLSuffix'
  | 'AWS::StackName'
  | 'AWS::StackId';

/** The pseudo parameters of a local stack; the stack name and id only when the stack's name is known. */
export function defaultPseudoParameters(stackName?: string, identity: LocalIdentity = LOCAL_IDENTITY): Partial<Record<PseudoParameter, string>> {
  return {
    'AWS::Region': identity.region,
    'AWS::AccountId': identity.accountId,
    'AWS::Partition': 'aws',
    'AWS::URLSuffix': 'amazonaws.com',
    ...(stackName === undefined
      ? {}
      : {
          'AWS::StackName': stackName,
          'AWS::StackId': `arn:aws:cloudformation:${identity.region}:${identity.accountId}:stack/${stackName}/00000000-0000-0000-0000-000000000000`,
        }),
  };
}

export class UnsupportedIntrinsicError extends Error {
  override readonly name = 'UnsupportedIntrinsicError';
}

/** Returns a function that resolves every intrinsic in a template value, recursively. */
export function createIntrinsicResolver(options: IntrinsicResolverOptions): (value: TemplateValue) => TemplateValue {
  const pseudo: Record<string, string> = { ...defaultPseudoParameters(), ...options.pseudoParameters };

  const ref = (name: string): TemplateValue => (name in pseudo ? pseudo[name]! : options.ref(name));

  const asString = (value: TemplateValue, where: string): string => {
    if (typeof value === 'string') return value;
    if (typeof value === 'number' || typeof value === 'boolean') return String(value);
    throw new UnsupportedIntrinsicError(`${where} needs a string, got ${JSON.stringify(value)}`);
  };

  const asArray = (value: TemplateValue, where: string): TemplateValue[] => {
    if (Array.isArray(value)) return value;
    throw new UnsupportedIntrinsicError(`${where} needs a list, got ${JSON.stringify(value)}`);
  };

  const substitute = (text: string, variables: Record<string, TemplateValue>): string =>
    text.replace(/\$\{([^}]*)\}/g, (_whole, expression: string) => {
      if (expression.startsWith('!')) return `\${${expression.slice(1)}}`;
      const name = expression.trim();
      if (name in variables) return asString(resolve(variables[name]!), `Fn::Sub variable ${name}`);
      const dot = name.indexOf('.');
      if (dot > 0 && !(name in pseudo)) return asString(options.getAtt(name.slice(0, dot), name.slice(dot + 1)), `Fn::Sub \${${name}}`);
      return asString(ref(name), `Fn::Sub \${${name}}`);
    });

  function resolve(value: TemplateValue): TemplateValue {
    if (Array.isArray(value)) return value.map(resolve);
    if (value === null || typeof value !== 'object') return value;
    const keys = Object.keys(value);
    if (keys.length === 1) {
      const key = keys[0]!;
      const argument = value[key]!;
      switch (key) {
        case 'Ref':
          return ref(asString(argument, 'Ref'));
        case 'Fn::GetAtt': {
          const [logicalId, ...attribute] = typeof argument === 'string' ? argument.split('.') : asArray(resolve(argument), 'Fn::GetAtt');
          return options.getAtt(asString(logicalId ?? null, 'Fn::GetAtt'), attribute.map((part) => asString(part, 'Fn::GetAtt')).join('.'));
        }
        case 'Fn::Join': {
          const [delimiter, list] = asArray(argument, 'Fn::Join');
          return asArray(resolve(list ?? null), 'Fn::Join')
            .map((part) => asString(part, 'Fn::Join'))
            .join(asString(delimiter ?? '', 'Fn::Join'));
        }
        case 'Fn::Sub': {
          if (typeof argument === 'string') return substitute(argument, {});
          const [text, variables] = asArray(argument, 'Fn::Sub');
          const map = variables && typeof variables === 'object' && !Array.isArray(variables) ? variables : {};
          return substitute(asString(text ?? null, 'Fn::Sub'), map);
        }
        case 'Fn::Select': {
          const [index, list] = asArray(argument, 'Fn::Select');
          const position = Number(resolve(index ?? null));
          const items = asArray(resolve(list ?? null), 'Fn::Select');
          if (!Number.isInteger(position) || position < 0 || position >= items.length) {
            throw new UnsupportedIntrinsicError(`Fn::Select index ${position} out of range (${items.length} items)`);
          }
          return items[position]!;
        }
        case 'Fn::Split': {
          const [delimiter, text] = asArray(argument, 'Fn::Split');
          return asString(resolve(text ?? null), 'Fn::Split').split(asString(delimiter ?? null, 'Fn::Split'));
        }
        case 'Fn::Base64':
          return Buffer.from(asString(resolve(argument), 'Fn::Base64')).toString('base64');
        case 'Fn::FindInMap': {
          const [mapName, topKey, secondKey] = asArray(resolve(argument), 'Fn::FindInMap').map((part) => asString(part, 'Fn::FindInMap'));
          const found = options.mappings?.[mapName!]?.[topKey!]?.[secondKey!];
          if (found === undefined) throw new UnsupportedIntrinsicError(`Fn::FindInMap ${mapName}.${topKey}.${secondKey} not found`);
          return resolve(found);
        }
        default:
          if (key.startsWith('Fn::') || key === 'Condition') {
            throw new UnsupportedIntrinsicError(`Intrinsic ${key} is not supported locally`);
          }
      }
    }
    return Object.fromEntries(keys.map((key) => [key, resolve(value[key]!)]));
  }

  return resolve;
}

/** One-shot form of {@link createIntrinsicResolver}. */
export function resolveIntrinsics(value: TemplateValue, options: IntrinsicResolverOptions): TemplateValue {
  return createIntrinsicResolver(options)(value);
}
