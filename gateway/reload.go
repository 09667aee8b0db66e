package gateway

import (
	"context"
	"log/slog"
	"sync"
)

// reloader runs reloads one at a time. Requests that arrive while a reload
// is running are served together by the next one, so a burst of reload
// calls costs at most two reloads.
type reloader struct {
	do  func() error
	log *slog.Logger

	mu      sync.Mutex
	waiting []chan error
	kick    chan struct{}
}

func newReloader(do func() error, log *slog.Logger) *reloader {
	return &reloader{do: do, log: log, kick: make(chan struct{}, 1)}
}

// request queues a reload; with wait it blocks until a reload that started
// after the call has finished.
func (r *reloader) request(ctx context.Context, wait bool) error {
	done := make(chan error, 1)
	r.mu.Lock()
	r.waiting = append(r.waiting, done)
	r.mu.Unlock()
	select {
	case r.kick <- struct{}{}:
	default:
	}
	if !wait {
		return nil
	}
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (r *reloader) run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-r.kick:
		}
		r.mu.Lock()
		batch := r.waiting
		r.waiting = nil
		r.mu.Unlock()
		err := r.do()
		if err != nil {
			r.log.Error("reload failed", "error", err)
		} else {
			r.log.Info("reload done", "requests", len(batch))
		}
		for _, c := range batch {
			c <- err
		}
	}
}
