// Package queue sends messages to the SQS queues of the async work (SMS
// sending, document summaries, webhook processing, ...). Code depends on
// Sender; in AWS it is an SQS, in make dev and the tests the in-process
// broker of shared/localaws, which delivers to the same consumer handlers.
package queue

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/matterly/matterly/shared/check"
)

// Sender enqueues one message.
//
// queue is a logical queue name such as "sms-outbound", never a URL or an
// ARN: the names are the same in AWS (mapped to queue URLs from the
// environment) and locally (the broker's registered queues), so calling
// code does not change between the two. body is the message text (usually
// JSON); attrs become String message attributes and may be nil.
//
// A nil error means the queue accepted the message; delivery is at least
// once, so consumers must be idempotent.
type Sender interface {
	Send(ctx context.Context, queue string, body string, attrs map[string]string) error
}

// MaxMessageBytes bounds a message's body plus attribute names and values.
// It is SQS's long-standing 256 KiB limit, kept as the conservative bound
// even where a queue could accept more, so a message that passes locally
// passes everywhere.
const MaxMessageBytes = 256 * 1024

// maxAttributes is SQS's limit of message attributes per message.
const maxAttributes = 10

// attrNameOK reports whether name is what SQS accepts as a message
// attribute name: letters, digits, '_', '-' and '.', up to 256 characters.
// A loop, not the regular expression it replaces: ^[...]{1,256}$ compiles
// to 256 copies of the class, 240 KB and 3,000 allocations at every cold
// start of every function that links this package.
func attrNameOK(name string) bool {
	return check.Bytes(name, 1, 256, func(c byte) bool { return check.Word(c) || c == '.' })
}

// Validate checks a message against the rules SQS enforces when it is
// sent, so the local broker rejects what AWS would reject and the mistake
// shows up in a test rather than in production.
func Validate(body string, attrs map[string]string) error {
	if body == "" {
		return errors.New("queue: message body is empty")
	}
	if !validSQSText(body) {
		return errors.New("queue: message body has characters SQS does not accept")
	}
	if len(attrs) > maxAttributes {
		return fmt.Errorf("queue: %d message attributes, at most %d allowed", len(attrs), maxAttributes)
	}
	size := len(body)
	for name, value := range attrs {
		lower := strings.ToLower(name)
		if !attrNameOK(name) || strings.HasPrefix(name, ".") || strings.HasSuffix(name, ".") ||
			strings.Contains(name, "..") || strings.HasPrefix(lower, "aws.") || strings.HasPrefix(lower, "amazon.") {
			return fmt.Errorf("queue: invalid message attribute name %q", name)
		}
		if value == "" {
			return fmt.Errorf("queue: message attribute %q is empty", name)
		}
		if !validSQSText(value) {
			return fmt.Errorf("queue: message attribute %q has characters SQS does not accept", name)
		}
		size += len(name) + len("String") + len(value)
	}
	if size > MaxMessageBytes {
		return fmt.Errorf("queue: message is %d bytes, at most %d allowed", size, MaxMessageBytes)
	}
	return nil
}

// validSQSText reports whether s has only the characters SQS allows:
// #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF.
func validSQSText(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		switch {
		case r == 0x9 || r == 0xA || r == 0xD:
		case r >= 0x20 && r <= 0xD7FF:
		case r >= 0xE000 && r <= 0xFFFD:
		case r >= 0x10000 && r <= 0x10FFFF:
		default:
			return false
		}
	}
	return true
}
