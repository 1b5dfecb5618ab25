import { RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { PaymentsData } from './constructs/payments-data.ts';

export class PayflowStack extends Stack {
  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, props);
    const dev = this.node.tryGetContext('payflow:dev') === true || this.node.tryGetContext('payflow:dev') === 'true';
    new PaymentsData(this, 'Data', { removalPolicy: dev ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN });
  }
}
