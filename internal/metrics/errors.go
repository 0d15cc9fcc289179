package metrics

import "errors"

// ErrPushgateway marks a push the Pushgateway did not accept, or a Pushgateway
// URL that cannot be used.
var ErrPushgateway = errors.New("push to pushgateway")
