import { ProcessorCircuitBreaker, type CircuitBreaker } from '#application/circuit-breaker';
import { CircuitBreakerTable } from '#adapters/dynamodb/circuit-breaker-table';
import { SimulatedProcessor } from '#adapters/simulated-processor';
import { documentClient } from '#commons/dynamodb';
import { numberSetting, setting } from '#commons/environment';
import { DEFAULT_CIRCUIT_BREAKER_POLICY as DEFAULTS } from '#domain/circuit-breaker';
import type { PaymentProcessor } from '#ports/processor';

/** The processor behind the port, chosen in this one place: the simulated one (DESIGN §5), on its own table. */
export const processorFromSettings = (): PaymentProcessor => new SimulatedProcessor({ tableName: setting('processorTable'), client: documentClient });

/** The processor's circuit breaker, shared by every saga execution through its table. */
export const circuitBreakerFromSettings = (): CircuitBreaker =>
  new ProcessorCircuitBreaker(new CircuitBreakerTable(setting('circuitBreakerTable'), documentClient), {
    failureThreshold: numberSetting('breakerFailureThreshold', DEFAULTS.failureThreshold),
    windowSeconds: numberSetting('breakerWindowSeconds', DEFAULTS.windowSeconds),
    openSeconds: numberSetting('breakerOpenSeconds', DEFAULTS.openSeconds),
    probeLeaseSeconds: DEFAULTS.probeLeaseSeconds,
  });
