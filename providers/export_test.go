package providers

import "time"

// SetOAuthClock makes o read the time from now.
func SetOAuthClock(o *OAuth, now func() time.Time) { o.now = now }

// OAuthWaiters returns how many callers have joined the token call in flight
// for any key.
func OAuthWaiters(o *OAuth) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	n := 0
	for _, f := range o.flights {
		n += f.waiters
	}
	return n
}
