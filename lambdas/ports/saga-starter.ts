import type { SagaStart } from '#domain/saga-starts';

export interface StartedSaga {
  executionArn: string;
  /** True when an execution with this name already existed: the saga was started before. */
  alreadyExisted: boolean;
}

export interface SagaStarter {
  /** Starts the saga under its deterministic execution name; starting it again is harmless. */
  start(start: SagaStart): Promise<StartedSaga>;
  /** RUNNING, SUCCEEDED, FAILED, ... or undefined when unknown. */
  status(executionArn: string): Promise<string | undefined>;
}
