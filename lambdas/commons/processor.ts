import { SimulatedProcessor } from '#adapters/simulated-processor';
import { documentClient } from '#commons/dynamodb';
import { setting } from '#commons/environment';
import type { PaymentProcessor } from '#ports/processor';

/** The processor behind the port, chosen in this one place: the simulated one (DESIGN §5), on its own table. */
export const processorFromSettings = (): PaymentProcessor => new SimulatedProcessor({ tableName: setting('processorTable'), client: documentClient });
