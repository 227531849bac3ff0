package sandbox

import (
	"fmt"
	"os"
	"sort"
	"strings"
)

// DescribeCgroups says which cgroup hierarchies isolation would use here,
// for `lambdaplane doctor`.
func DescribeCgroups() string {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return "unknown: " + err.Error()
	}
	defer f.Close()
	v1, v2, err := cgroupMounts(f)
	if err != nil {
		return "unknown: " + err.Error()
	}
	if len(v1) > 0 {
		var names []string
		for c := range v1 {
			names = append(names, c)
		}
		sort.Strings(names)
		missing := []string{}
		for _, c := range []string{"freezer", "memory", "pids"} {
			if _, ok := v1[c]; !ok {
				missing = append(missing, c)
			}
		}
		s := "v1 (" + strings.Join(names, ", ") + ")"
		if len(missing) > 0 {
			s += fmt.Sprintf("; missing %s: those limits are not applied", strings.Join(missing, ", "))
		}
		return s
	}
	if v2 != "" {
		return "v2 (unified at " + v2 + ")"
	}
	return "none mounted: memory limits and freezing are not applied"
}
