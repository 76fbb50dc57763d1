// Package delivery tells, for a provider call that failed, whether the
// provider may still have acted on it: the rule that keeps a text or an
// email from going out twice.
package delivery

import (
	"errors"
	"net"
)

// Ambiguous reports a send the provider may have accepted: a success answer
// that could not be read (status 2xx), or no answer at all after the
// request went out (a timeout). A connection that was never made (a dial
// error) is not ambiguous: nothing reached the provider.
func Ambiguous(status int, err error) bool {
	if status >= 200 && status < 300 {
		return true
	}
	if status != 0 {
		return false
	}
	var op *net.OpError
	return !(errors.As(err, &op) && op.Op == "dial")
}
