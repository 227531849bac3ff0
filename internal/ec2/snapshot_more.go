package ec2

// SettledSnapshot is Snapshot once every write whose store commit a watcher
// may already have seen is also published in the service's state. A write
// commits to the store (and wakes watchers) before it publishes under mu,
// so a plain Snapshot taken on a watch event can miss that very change;
// writers hold wmu across both steps, so waiting for it closes the gap.
func (s *Service) SettledSnapshot() Snapshot {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	return s.Snapshot()
}
