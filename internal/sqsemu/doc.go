// Package sqsemu is an in-memory stand-in for Amazon SQS standard queues,
// served over HTTP with the AWS JSON 1.0 protocol that aws-sdk-go-v2's
// service/sqs speaks (POST / with X-Amz-Target: AmazonSQS.<Op>), so the real
// SDK, and a worker process pointed at it through AWS_ENDPOINT_URL_SQS, can
// use it unchanged. Signatures are not verified: any credentials work.
//
// It exists for the benchmark: moto_server's ReceiveMessage scans the whole
// queue (about 0.6 ms per queued message), so above ~20 jobs/s moto, not
// the worker, sets the pace. Here a receive costs O(messages returned ×
// log(queue)): each queue keeps its messages in a heap ordered by the time
// they become visible, guarded by the queue's mutex. The integration tests
// keep using moto as the real back end.
//
// It implements CreateQueue, GetQueueUrl, GetQueueAttributes, SendMessage,
// SendMessageBatch, ReceiveMessage (long polling that returns as soon as a
// message is visible, per-receive visibility timeouts, the system
// attributes ApproximateReceiveCount, SentTimestamp and
// ApproximateFirstReceiveTimestamp, message attributes with SQS's MD5
// digests), DeleteMessage(Batch) and
// ChangeMessageVisibility(Batch), with SQS's error codes (JSON __type and the
// x-amzn-query-error header). Every receive hands out a new receipt handle;
// a delete with an older handle succeeds without deleting, as SQS documents.
//
// Not implemented, each answering UnsupportedOperation or
// InvalidAttributeName naming what is missing, never a silent success: FIFO
// queues, redrive policies (the worker dead-letters by itself), message
// retention, purge, queue deletion, tags, permissions, message move tasks
// and the other operations.
//
// A Server is safe for concurrent use.
package sqsemu
