package ec2

// Settle runs the timed-state steps now, for tests that move a clock.
func (s *Service) Settle() {
	s.write(nil, func(t *txn) error {
		for _, f := range settlers {
			f(s, t)
		}
		return nil
	})
}
