package netctl

import (
	"encoding/base64"
	"reflect"
	"slices"
	"testing"

	"github.com/lambdaplane/lambdaplane/internal/ec2"
	"github.com/lambdaplane/lambdaplane/internal/netplane"
)

func TestPlanInstances(t *testing.T) {
	const prefix = "lptest"
	script := "#!/bin/sh\necho hi\n"
	ud := base64.StdEncoding.EncodeToString([]byte(script))
	inst := func(id, state, userData string) *ec2.Instance {
		return &ec2.Instance{Meta: ec2.Meta{ID: id}, State: state, UserData: userData}
	}
	eni := func(id, instance string, device int32) *ec2.NetworkInterface {
		return &ec2.NetworkInterface{Meta: ec2.Meta{ID: id},
			Attachment: &ec2.ENIAttachment{InstanceID: instance, DeviceIndex: device}}
	}
	s := ec2.Snapshot{
		Instances: []*ec2.Instance{
			inst("i-pending", "pending", ud),
			inst("i-running", "running", ud),
			inst("i-booted", "running", ud),    // already started this boot
			inst("i-nodata", "running", ""),    // nothing to run
			inst("i-nons", "running", ud),      // namespace not made yet
			inst("i-secondary", "running", ud), // only a secondary interface
			inst("i-stopping", "stopping", ud), // boot ends
			inst("i-stopped", "stopped", ud),   // never booted: nothing to stop
			inst("i-shutting", "shutting-down", ud),
			inst("i-terminated", "terminated", ud),
		},
		NetworkInterfaces: []*ec2.NetworkInterface{
			eni("eni-pending", "i-pending", 0),
			eni("eni-running", "i-running", 0),
			eni("eni-booted", "i-booted", 0),
			eni("eni-nodata", "i-nodata", 0),
			eni("eni-nons", "i-nons", 0),
			eni("eni-secondary", "i-secondary", 1),
			eni("eni-stopping", "i-stopping", 0),
			eni("eni-stopped", "i-stopped", 0),
			eni("eni-shutting", "i-shutting", 0),
			{Meta: ec2.Meta{ID: "eni-free"}},
		},
	}
	booted := map[string]bool{"i-booted": true, "i-stopping": true, "i-shutting": true, "i-deleted": true}
	nsExists := func(name string) bool { return name != netplane.ENINetns(prefix, "eni-nons") }

	start, stop := planInstances(prefix, s, booted, nsExists)

	want := []launch{
		{instanceID: "i-pending", netns: netplane.ENINetns(prefix, "eni-pending"), argv: []string{"/bin/sh", scriptPath}, script: []byte(script)},
		{instanceID: "i-running", netns: netplane.ENINetns(prefix, "eni-running"), argv: []string{"/bin/sh", scriptPath}, script: []byte(script)},
	}
	if !reflect.DeepEqual(start, want) {
		t.Errorf("start = %+v\nwant %+v", start, want)
	}
	slices.Sort(stop)
	if want := []string{"i-deleted", "i-shutting", "i-stopping"}; !slices.Equal(stop, want) {
		t.Errorf("stop = %v, want %v", stop, want)
	}
}

func TestInterpreter(t *testing.T) {
	for script, want := range map[string][]string{
		"echo hi\n":                       {"/bin/bash", scriptPath},
		"":                                {"/bin/bash", scriptPath},
		"#!/bin/bash\necho hi":            {"/bin/bash", scriptPath},
		"#! /usr/bin/env python3 \r\nx=1": {"/usr/bin/env", "python3", scriptPath},
		"#!/bin/sh -eu\n":                 {"/bin/sh", "-eu", scriptPath},
		"#!/usr/bin/env  -S a b":          {"/usr/bin/env", "-S a b", scriptPath},
		"#!\necho hi":                     {"/bin/bash", scriptPath},
	} {
		if got := interpreter([]byte(script)); !slices.Equal(got, want) {
			t.Errorf("interpreter(%q) = %q, want %q", script, got, want)
		}
	}
}
