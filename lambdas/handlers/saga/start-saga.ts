import { SqsFifoPartialProcessorAsync, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { startSagaForEvent } from '#application/start-saga';
import { sagaStarterFromSettings } from '#adapters/step-functions-saga-starter';

const startSaga = startSagaForEvent(sagaStarterFromSettings());
const processor = new SqsFifoPartialProcessorAsync();

// skipGroupOnError: a failed message fails the rest of its payment's messages in this batch (their
// order holds) while other payments' messages go on.
export const handler = async (event: SQSEvent, context: Context) =>
  processPartialResponse(event, (record: SQSRecord) => startSaga(record.body), processor, { context, skipGroupOnError: true });
