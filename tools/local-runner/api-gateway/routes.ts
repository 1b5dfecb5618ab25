/** The REST API's resource tree, and how API Gateway matches a request path against it. */
import { UnsupportedTemplateError } from '../template.ts';

export interface RouteNode<Method> {
  id: string;
  resourcePath: string;
  literal: Map<string, RouteNode<Method>>;
  variable?: { name: string; node: RouteNode<Method> };
  greedy?: { name: string; node: RouteNode<Method> };
  methods: Map<string, Method>;
}

/** An AWS::ApiGateway::Resource: its logical id, its parent's id and its path part. */
export interface ApiResource {
  logicalId: string;
  parentId: string;
  pathPart: string;
}

/** The tree of `resources` under the root `rootId`, by id (the root included); parents may come after their children. */
export function buildRouteTree<Method>(rootId: string, resources: readonly ApiResource[]): Map<string, RouteNode<Method>> {
  const root: RouteNode<Method> = { id: rootId, resourcePath: '/', literal: new Map(), methods: new Map() };
  const nodes = new Map<string, RouteNode<Method>>([[root.id, root]]);
  const pending = new Map(resources.map((resource) => [resource.logicalId, resource]));
  while (pending.size > 0) {
    let progressed = false;
    for (const [logicalId, { parentId, pathPart: part }] of pending) {
      const parent = nodes.get(parentId);
      if (!parent) continue;
      const node: RouteNode<Method> = {
        id: logicalId,
        resourcePath: `${parent.resourcePath === '/' ? '' : parent.resourcePath}/${part}`,
        literal: new Map(),
        methods: new Map(),
      };
      const variable = /^\{([^}+]+)(\+)?\}$/.exec(part);
      if (variable?.[2]) parent.greedy = { name: variable[1]!, node };
      else if (variable) parent.variable = { name: variable[1]!, node };
      else parent.literal.set(part, node);
      nodes.set(logicalId, node);
      pending.delete(logicalId);
      progressed = true;
    }
    if (!progressed) throw new UnsupportedTemplateError(`API resources with unknown parents: ${[...pending.keys()].join(', ')}`);
  }
  return nodes;
}

/** A path inside the stage (`/payments/pay_1`) as decoded segments; a segment that does not decode is kept as sent. */
export function pathSegments(path: string): string[] {
  return path === '/'
    ? []
    : path
        .slice(1)
        .split('/')
        .map((segment) => {
          try {
            return decodeURIComponent(segment);
          } catch {
            return segment;
          }
        });
}

export interface RouteMatch<Method> {
  node: RouteNode<Method>;
  pathParameters: Record<string, string>;
}

/** Most specific route first, as API Gateway matches: literal segments, then `{var}`, then `{proxy+}`. */
export function matchRoute<Method>(node: RouteNode<Method>, segments: string[], parameters: Record<string, string> = {}): RouteMatch<Method> | undefined {
  if (segments.length === 0) return { node, pathParameters: parameters };
  const [head, ...rest] = segments as [string, ...string[]];
  const literal = node.literal.get(head);
  const viaLiteral = literal && matchRoute(literal, rest, parameters);
  if (viaLiteral) return viaLiteral;
  if (node.variable && head !== '') {
    const viaVariable = matchRoute(node.variable.node, rest, { ...parameters, [node.variable.name]: head });
    if (viaVariable) return viaVariable;
  }
  if (node.greedy) return { node: node.greedy.node, pathParameters: { ...parameters, [node.greedy.name]: segments.join('/') } };
  return undefined;
}
