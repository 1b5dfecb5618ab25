import type { LocalIdentity } from './identity.ts';
import { createIntrinsicResolver, defaultPseudoParameters, type TemplateValue } from './intrinsics.ts';
import { IGNORED_RESOURCE_TYPES, type CfnTemplate } from './template.ts';

/** Ignored types whose Ref is their ARN (for the others it is a name or an id). */
const REF_IS_ARN = new Set(['AWS::SNS::Topic', 'AWS::IAM::ManagedPolicy']);

/** Where each emulated service records what its resources' Ref and attributes are locally. */
export type ReferenceRegistry = Pick<LocalReferences, 'set'>;

/**
 * What `Ref` and `Fn::GetAtt` of each resource mean locally, filled in as the runner creates the
 * resources (a table's name and stream ARN, a queue's URL and ARN, a function's ARN ...). Resources
 * of deliberately ignored types (IAM roles, log groups, topics ...) get placeholder values, so that a
 * function environment that mentions one still resolves; anything else not yet created is an error.
 */
export class LocalReferences {
  private readonly refs = new Map<string, TemplateValue>();
  private readonly attributes = new Map<string, TemplateValue>();
  readonly resolve: (value: TemplateValue) => TemplateValue;

  constructor(
    private readonly template: CfnTemplate,
    readonly identity: LocalIdentity,
    stackName: string,
  ) {
    this.resolve = createIntrinsicResolver({
      ref: (logicalId) => this.ref(logicalId),
      getAtt: (logicalId, attribute) => this.getAtt(logicalId, attribute),
      mappings: template.Mappings as Record<string, Record<string, Record<string, TemplateValue>>> | undefined,
      pseudoParameters: defaultPseudoParameters(stackName, identity),
    });
  }

  /** Records what a created resource's Ref and attributes are. */
  set(logicalId: string, ref: TemplateValue, attributes: Record<string, TemplateValue> = {}): void {
    this.refs.set(logicalId, ref);
    for (const [name, value] of Object.entries(attributes)) this.attributes.set(`${logicalId}.${name}`, value);
  }

  has(logicalId: string): boolean {
    return this.refs.has(logicalId);
  }

  ref(logicalId: string): TemplateValue {
    const known = this.refs.get(logicalId);
    if (known !== undefined) return known;
    const parameter = this.template.Parameters?.[logicalId];
    if (parameter) {
      if (parameter.Default === undefined) throw new Error(`Template parameter ${logicalId} has no default; the local runner cannot supply one`);
      return parameter.Default as TemplateValue;
    }
    const type = this.typeOf(logicalId);
    if (type in IGNORED_RESOURCE_TYPES) return REF_IS_ARN.has(type) ? this.getAtt(logicalId, 'Arn') : logicalId;
    throw new Error(`Ref ${logicalId} (${type}) used before the local runner created it`);
  }

  getAtt(logicalId: string, attribute: string): TemplateValue {
    const known = this.attributes.get(`${logicalId}.${attribute}`);
    if (known !== undefined) return known;
    const type = this.typeOf(logicalId);
    if (type in IGNORED_RESOURCE_TYPES) {
      if (attribute === 'Arn') {
        const service = type.split('::')[1]!.toLowerCase();
        return `arn:aws:${service}:${this.identity.region}:${this.identity.accountId}:${logicalId}`;
      }
      return `${logicalId}.${attribute}`;
    }
    throw new Error(`Fn::GetAtt ${logicalId}.${attribute} (${type}) is not known locally`);
  }

  private typeOf(logicalId: string): string {
    const resource = this.template.Resources[logicalId];
    if (!resource) throw new Error(`${logicalId} is neither a resource nor a parameter of the template`);
    return resource.Type;
  }
}
