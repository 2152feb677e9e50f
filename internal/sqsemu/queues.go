package sqsemu

import (
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
)

var queueName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,80}$`)

type createQueueIn struct {
	QueueName  string
	Attributes map[string]string
	Tags       map[string]string
}

type queueURLOut struct {
	QueueUrl string
}

// parseQueueAttrs reads CreateQueue's attributes; those it does not
// implement are an error naming them.
func parseQueueAttrs(in map[string]string) (queueAttrs, error) {
	a := queueAttrs{visibility: 30 * time.Second, maxSize: 262144}
	seconds := func(name, v string, max int) (time.Duration, error) {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > max {
			return 0, sqsError("InvalidAttributeValue", "Invalid value for the parameter %s: %q (0 to %d).", name, v, max)
		}
		return time.Duration(n) * time.Second, nil
	}
	var err error
	for name, v := range in {
		switch name {
		case "VisibilityTimeout":
			a.visibility, err = seconds(name, v, 43200)
		case "DelaySeconds":
			a.delay, err = seconds(name, v, 900)
		case "ReceiveMessageWaitTimeSeconds":
			a.receiveWait, err = seconds(name, v, 20)
		case "MaximumMessageSize":
			n, cerr := strconv.Atoi(v)
			if cerr != nil || n < 1024 || n > 1048576 {
				err = sqsError("InvalidAttributeValue", "Invalid value for the parameter MaximumMessageSize: %q (1024 to 1048576).", v)
			}
			a.maxSize = n
		case "FifoQueue":
			if v != "false" {
				err = errUnsupported("FIFO queues")
			}
		default:
			err = sqsError("InvalidAttributeName", "sqsemu does not implement the queue attribute %s.", name)
		}
		if err != nil {
			return a, err
		}
	}
	return a, nil
}

func (s *Server) createQueue(r *http.Request, in *createQueueIn) (any, error) {
	if strings.HasSuffix(in.QueueName, ".fifo") {
		return nil, errUnsupported("FIFO queues")
	}
	if !queueName.MatchString(in.QueueName) {
		return nil, errInvalid("Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length")
	}
	if len(in.Tags) > 0 {
		return nil, errUnsupported("queue tags")
	}
	attrs, err := parseQueueAttrs(in.Attributes)
	if err != nil {
		return nil, err
	}
	base := s.opts.BaseURL
	if base == "" {
		base = "http://" + r.Host
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if q := s.queues[in.QueueName]; q != nil {
		if q.attrs != attrs {
			e := sqsError("QueueNameExists", "A queue already exists with the same name and a different value for attribute(s)")
			e.query = "QueueAlreadyExists"
			return nil, e
		}
		return queueURLOut{QueueUrl: q.url}, nil
	}
	q := newQueue(in.QueueName, strings.TrimSuffix(base, "/")+"/"+s.opts.AccountID+"/"+in.QueueName,
		fmt.Sprintf("arn:aws:sqs:%s:%s:%s", s.opts.Region, s.opts.AccountID, in.QueueName), attrs, time.Now())
	s.queues[in.QueueName] = q
	return queueURLOut{QueueUrl: q.url}, nil
}

type getQueueURLIn struct {
	QueueName              string
	QueueOwnerAWSAccountId string
}

func (s *Server) getQueueURL(in *getQueueURLIn) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.queues[in.QueueName]
	if q == nil || (in.QueueOwnerAWSAccountId != "" && in.QueueOwnerAWSAccountId != s.opts.AccountID) {
		return nil, errNoQueue()
	}
	return queueURLOut{QueueUrl: q.url}, nil
}

type getQueueAttributesIn struct {
	QueueUrl       string
	AttributeNames []string
}

type attributesOut struct {
	Attributes map[string]string `json:",omitempty"`
}

// queueAttributeNames are the attributes GetQueueAttributes answers.
var queueAttributeNames = []string{
	"QueueArn", "VisibilityTimeout", "MaximumMessageSize", "DelaySeconds", "ReceiveMessageWaitTimeSeconds",
	"CreatedTimestamp", "LastModifiedTimestamp",
	"ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible", "ApproximateNumberOfMessagesDelayed",
}

func (s *Server) getQueueAttributes(in *getQueueAttributesIn) (any, error) {
	q, err := s.queueOf(in.QueueUrl)
	if err != nil {
		return nil, err
	}
	names := in.AttributeNames
	for _, n := range in.AttributeNames {
		if n == "All" {
			names = queueAttributeNames
			break
		}
	}
	out := map[string]string{}
	var counted bool
	var visible, inFlight, delayed int
	for _, n := range names {
		switch n {
		case "QueueArn":
			out[n] = q.arn
		case "VisibilityTimeout":
			out[n] = strconv.Itoa(int(q.attrs.visibility / time.Second))
		case "MaximumMessageSize":
			out[n] = strconv.Itoa(q.attrs.maxSize)
		case "DelaySeconds":
			out[n] = strconv.Itoa(int(q.attrs.delay / time.Second))
		case "ReceiveMessageWaitTimeSeconds":
			out[n] = strconv.Itoa(int(q.attrs.receiveWait / time.Second))
		case "CreatedTimestamp", "LastModifiedTimestamp":
			out[n] = strconv.FormatInt(q.created.Unix(), 10)
		case "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible", "ApproximateNumberOfMessagesDelayed":
			if !counted {
				visible, inFlight, delayed = q.counts(time.Now())
				counted = true
			}
			out[n] = strconv.Itoa(map[string]int{"ApproximateNumberOfMessages": visible,
				"ApproximateNumberOfMessagesNotVisible": inFlight, "ApproximateNumberOfMessagesDelayed": delayed}[n])
		case "FifoQueue", "ContentBasedDeduplication", "DeduplicationScope", "FifoThroughputLimit",
			"RedrivePolicy", "RedriveAllowPolicy", "Policy":
			// A standard queue created here never has these (CreateQueue
			// refuses them): SQS leaves unset ones out too.
		default:
			return nil, sqsError("InvalidAttributeName", "Unknown Attribute %s (sqsemu answers %s).", n, strings.Join(queueAttributeNames, ", "))
		}
	}
	return attributesOut{Attributes: out}, nil
}
