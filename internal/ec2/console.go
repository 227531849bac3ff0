package ec2

// maxConsoleOutput is how much console output an instance keeps: AWS
// returns only the most recent 64 KB.
const maxConsoleOutput = 64 << 10

// AppendConsoleOutput records what instance id printed, as the data plane
// sees it, keeping only the most recent 64 KiB as AWS does.
func (s *Service) AppendConsoleOutput(id string, text []byte) error {
	if len(text) == 0 {
		return nil
	}
	return s.write(nil, func(t *txn) error {
		if _, ok := getAs[*Instance](t, id); !ok {
			return errNotFound(kindInstance, id)
		}
		i := editAs[*Instance](t, id)
		out := i.ConsoleOutput + string(text)
		if n := len(out) - maxConsoleOutput; n > 0 {
			out = out[n:]
		}
		i.ConsoleOutput = out
		i.ConsoleTime = t.now
		return nil
	})
}
