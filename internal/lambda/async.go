package lambda

import (
	"container/heap"
	"context"
	"encoding/json"
	"errors"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/lambdaplane/lambdaplane/internal/awswire"
	"github.com/lambdaplane/lambdaplane/internal/sandbox"
	"github.com/lambdaplane/lambdaplane/internal/store"
)

const (
	asyncPrefix      = "lambda/async/"
	asyncMaxRetries  = 2
	asyncMaxEventAge = 6 * time.Hour
	asyncWorkers     = 32
)

// asyncEvent is an accepted Event invocation, stored until it has run, has
// failed three times, or has aged out.
type asyncEvent struct {
	ID            string    `json:"id"`
	Account       string    `json:"account"`
	Region        string    `json:"region"`
	Name          string    `json:"name"`
	Qualifier     string    `json:"qualifier"`
	Payload       []byte    `json:"payload"`
	ClientContext string    `json:"clientContext,omitempty"`
	Attempts      int       `json:"attempts"`
	NotBefore     time.Time `json:"notBefore"`
	Enqueued      time.Time `json:"enqueued"`
}

// asyncQueue is Lambda's internal queue for Event invocations: durable in the
// store, so accepted events survive a restart; retried twice on function
// errors with growing waits.
type asyncQueue struct {
	s     *Service
	wake  chan struct{}
	ready eventHeap
	mu    sync.Mutex // guards ready
	slots chan struct{}
}

func newAsyncQueue(s *Service) *asyncQueue {
	return &asyncQueue{s: s, wake: make(chan struct{}, 1), slots: make(chan struct{}, asyncWorkers)}
}

func (q *asyncQueue) load() error {
	return q.s.st.View(func(tx store.ReadTx) error {
		for _, kv := range tx.List(asyncPrefix) {
			var ev asyncEvent
			if err := json.Unmarshal(kv.Value, &ev); err != nil {
				return err
			}
			heap.Push(&q.ready, &ev)
		}
		return nil
	})
}

// enqueue stores the event before Invoke answers 202.
func (q *asyncQueue) enqueue(tg *invokeTarget, in *invokeInput) error {
	ev := &asyncEvent{
		ID: in.RequestID, Account: tg.id.Account, Region: tg.id.Region, Name: tg.id.Name,
		Qualifier: qualifierOf(tg.invoked, tg.id), Payload: in.Payload, ClientContext: in.ClientContext,
		NotBefore: time.Now(), Enqueued: time.Now(),
	}
	if ev.ID == "" {
		ev.ID = uuid.NewString()
	}
	if _, err := q.s.st.Update(func(tx store.Tx) error { return store.PutJSON(tx, asyncPrefix+ev.ID, ev) }); err != nil {
		return err
	}
	q.mu.Lock()
	heap.Push(&q.ready, ev)
	q.mu.Unlock()
	q.poke()
	return nil
}

func qualifierOf(invoked string, id fnID) string {
	base := id.arn()
	if len(invoked) > len(base) {
		return invoked[len(base)+1:]
	}
	return ""
}

func (q *asyncQueue) poke() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// run dispatches due events until ctx ends.
func (q *asyncQueue) run(ctx context.Context) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		q.mu.Lock()
		var due *asyncEvent
		wait := time.Hour
		if q.ready.Len() > 0 {
			next := q.ready[0]
			if d := time.Until(next.NotBefore); d <= 0 {
				due = heap.Pop(&q.ready).(*asyncEvent)
			} else {
				wait = d
			}
		}
		q.mu.Unlock()
		if due != nil {
			select {
			case q.slots <- struct{}{}:
			case <-ctx.Done():
				return
			}
			go func(ev *asyncEvent) {
				defer func() { <-q.slots }()
				q.attempt(ctx, ev)
			}(due)
			continue
		}
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			return
		case <-q.wake:
		case <-timer.C:
		}
	}
}

// attempt runs one delivery of ev and decides its fate.
func (q *asyncQueue) attempt(ctx context.Context, ev *asyncEvent) {
	s := q.s
	c := caller{Account: ev.Account, Region: ev.Region}
	t, err := s.namedQualified(c, ev.Name, ev.Qualifier, "lambda:InvokeFunction", true)
	var tg *invokeTarget
	if err == nil {
		tg, err = s.admitOrRestore(t)
	}
	var res sandbox.Result
	if err == nil {
		res, err = s.run(ctx, tg, sandbox.Invocation{
			RequestID: ev.ID, Payload: ev.Payload, InvokedArn: tg.invoked,
			ClientContext: ev.ClientContext, TraceID: newTraceID(),
		})
	}
	if ctx.Err() != nil {
		return // stopping: the event stays stored and runs after the restart
	}
	var aerr *awswire.Error
	switch {
	case err == nil && res.FunctionError == "":
		q.forget(ev)
	case errors.As(err, &aerr) && aerr.Code == "ResourceNotFoundException":
		s.log.Warn("async invocation dropped: function no longer exists", "requestId", ev.ID, "function", ev.Name)
		q.forget(ev)
	case err == nil:
		ev.Attempts++
		if ev.Attempts > asyncMaxRetries {
			s.log.Warn("async invocation failed after retries", "requestId", ev.ID, "function", ev.Name, "attempts", ev.Attempts)
			q.forget(ev)
			return
		}
		q.retry(ev, s.cfg.AsyncRetryBase<<(ev.Attempts-1))
	default:
		// Throttles and errors around the function are retried until the
		// event is too old, without counting as attempts.
		if time.Since(ev.Enqueued) > asyncMaxEventAge {
			s.log.Warn("async invocation dropped: maximum event age", "requestId", ev.ID, "err", err)
			q.forget(ev)
			return
		}
		q.retry(ev, time.Second)
	}
}

func (q *asyncQueue) forget(ev *asyncEvent) {
	if _, err := q.s.st.Update(func(tx store.Tx) error { tx.Delete(asyncPrefix + ev.ID); return nil }); err != nil {
		q.s.log.Error("remove async event", "requestId", ev.ID, "err", err)
	}
}

func (q *asyncQueue) retry(ev *asyncEvent, after time.Duration) {
	ev.NotBefore = time.Now().Add(after)
	if _, err := q.s.st.Update(func(tx store.Tx) error { return store.PutJSON(tx, asyncPrefix+ev.ID, ev) }); err != nil {
		q.s.log.Error("store async retry", "requestId", ev.ID, "err", err)
	}
	q.mu.Lock()
	heap.Push(&q.ready, ev)
	q.mu.Unlock()
	q.poke()
}

type eventHeap []*asyncEvent

func (h eventHeap) Len() int           { return len(h) }
func (h eventHeap) Less(i, j int) bool { return h[i].NotBefore.Before(h[j].NotBefore) }
func (h eventHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *eventHeap) Push(x any)        { *h = append(*h, x.(*asyncEvent)) }
func (h *eventHeap) Pop() any {
	old := *h
	n := len(old)
	x := old[n-1]
	*h = old[:n-1]
	return x
}
