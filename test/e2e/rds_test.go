package e2e

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// rdsUserData is the database instance's UserData: PostgreSQL initialized
// into dir, owned by and running as the postgres user, listening on the
// instance's private address only, with password (SCRAM-SHA-256) logins
// from the VPC for one role allowed to read the tutorial's table.
const rdsUserData = `#!/bin/bash
set -euo pipefail
bin=%[1]s
dir=%[2]s
data=$dir/data
addr=$(hostname -I | awk '{print $1}')
echo "database instance initializing on $addr"
chown postgres: "$dir"
runuser -u postgres -- "$bin/initdb" --no-sync --locale=C --encoding=UTF8 -D "$data" >/dev/null
cat >>"$data/postgresql.conf" <<EOF
listen_addresses = '$addr'
unix_socket_directories = ''
EOF
cat >"$data/pg_hba.conf" <<'EOF'
host postgres app %[3]s scram-sha-256
EOF
runuser -u postgres -- "$bin/postgres" --single -D "$data" postgres >/dev/null <<'EOF'
CREATE ROLE app LOGIN PASSWORD '%[4]s'
CREATE TABLE employee (empid int PRIMARY KEY, name varchar(255) NOT NULL)
INSERT INTO employee VALUES (1, 'Joe'), (2, 'Bob'), (3, 'Mary')
GRANT SELECT ON employee TO app
EOF
exec runuser -u postgres -- "$bin/postgres" -D "$data"
`

// The seed's RDS tutorial in shape, with the AWS CLI: a PostgreSQL
// database on an instance in a private subnet, whose group lets in the
// function's group on 5432; a function in that subnet queries it over
// the wire protocol and returns the rows. Revoking the rule makes the same
// invoke hang until the function's timeout: the data plane drops the
// connection attempt, it does not refuse it.
func TestCLIFunctionQueriesDatabase(t *testing.T) {
	t.Parallel()
	requireRoot(t)
	requireCLI(t)
	requirePython(t)
	pgBin := requirePostgres(t)
	const cidr = "10.98.0.0/16"

	// Made before the server, so that its cleanup runs after the server's
	// (which stops every instance) and finds no postgres of ours left.
	dir, err := os.MkdirTemp("", "lppg")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if left := postgresIn(dir); len(left) > 0 {
			t.Errorf("postgres processes %v outlived the server; killing them", left)
			for _, pid := range left {
				syscall.Kill(pid, syscall.SIGKILL)
			}
			for deadline := time.Now().Add(5 * time.Second); len(postgresIn(dir)) > 0 && time.Now().Before(deadline); {
				time.Sleep(50 * time.Millisecond)
			}
		}
		os.RemoveAll(dir)
	})

	s := startServer(t)
	allowVpcAccess(t, s)
	ec2 := func(args ...string) map[string]any {
		t.Helper()
		return s.cliJSON(t, append([]string{"ec2"}, args...)...)
	}

	vpc := jstr(ec2("create-vpc", "--cidr-block", cidr), "Vpc.VpcId")
	subnet := jstr(ec2("create-subnet", "--vpc-id", vpc, "--cidr-block", "10.98.1.0/24"), "Subnet.SubnetId")
	// Private: the main route table, and in it only the VPC's local route.
	tables := jget(ec2("describe-route-tables", "--filters", "Name=vpc-id,Values="+vpc), "RouteTables").([]any)
	if routes, _ := jget(tables[0], "Routes").([]any); len(tables) != 1 || len(routes) != 1 || jstr(routes[0], "GatewayId") != "local" {
		t.Fatalf("route tables of a new VPC: %v", tables)
	}
	dbGroup := jstr(ec2("create-security-group", "--vpc-id", vpc, "--group-name", "database", "--description", "PostgreSQL"), "GroupId")
	fnGroup := jstr(ec2("create-security-group", "--vpc-id", vpc, "--group-name", "function", "--description", "Lambda function"), "GroupId")
	ingress := []string{"--group-id", dbGroup, "--protocol", "tcp", "--port", "5432", "--source-group", fnGroup}
	ec2(append([]string{"authorize-security-group-ingress"}, ingress...)...)

	password := rand.Text()
	files := t.TempDir()
	userData := filepath.Join(files, "userdata.sh")
	if err := os.WriteFile(userData, fmt.Appendf(nil, rdsUserData, pgBin, dir, cidr, password), 0o600); err != nil {
		t.Fatal(err)
	}
	run := ec2("run-instances", "--image-id", "ami-0123456789abcdef0", "--instance-type", "t3.micro", "--count", "1",
		"--subnet-id", subnet, "--security-group-ids", dbGroup, "--user-data", "file://"+userData)
	inst := jget(run, "Instances").([]any)[0]
	instanceID, dbIP := jstr(inst, "InstanceId"), jstr(inst, "PrivateIpAddress")
	var console string
	eventuallyWithin(t, 30*time.Second, func() bool {
		// botocore decodes the console output's base64 for the CLI.
		console = jstr(ec2("get-console-output", "--instance-id", instanceID), "Output")
		return strings.Contains(console, "database system is ready to accept connections")
	}, "the instance's console says PostgreSQL is ready")
	if !strings.Contains(console, "database instance initializing on "+dbIP+"\n") ||
		!strings.Contains(console, `listening on IPv4 address "`+dbIP+`", port 5432`) {
		t.Fatalf("console output of %s (%s):\n%s", instanceID, dbIP, console)
	}

	zip, err := zipDir(filepath.Join("testdata", "python", "rds"))
	if err != nil {
		t.Fatal(err)
	}
	zipPath := filepath.Join(files, "function.zip")
	if err := os.WriteFile(zipPath, zip, 0o600); err != nil {
		t.Fatal(err)
	}
	s.cliJSON(t, "lambda", "create-function", "--function-name", "rds-query", "--runtime", pythonRuntime,
		"--handler", "lambda_function.lambda_handler", "--zip-file", "fileb://"+zipPath, "--role", role, "--timeout", "3",
		"--vpc-config", "SubnetIds="+subnet+",SecurityGroupIds="+fnGroup,
		"--environment", "Variables={DB_HOST="+dbIP+",DB_USER=app,DB_NAME=postgres,DB_PASSWORD="+password+"}")
	if out, errOut, code := s.cli(t, "lambda", "wait", "function-active-v2", "--function-name", "rds-query"); code != 0 {
		t.Fatalf("wait function-active-v2: %s%s", out, errOut)
	}
	hp := jget(ec2("describe-network-interfaces", "--filters", "Name=interface-type,Values=lambda", "Name=vpc-id,Values="+vpc), "NetworkInterfaces").([]any)
	if len(hp) != 1 {
		t.Fatalf("Hyperplane interfaces: %v", hp)
	}
	hpIP := jstr(hp[0], "PrivateIpAddress")

	type result struct {
		functionError string
		payload       map[string]any
		took          time.Duration
	}
	query := func() result {
		t.Helper()
		outPath := filepath.Join(files, "response.json")
		start := time.Now()
		meta := s.cliJSON(t, "lambda", "invoke", "--function-name", "rds-query", outPath)
		r := result{functionError: jstr(meta, "FunctionError"), took: time.Since(start)}
		body, err := os.ReadFile(outPath)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(body, &r.payload); err != nil {
			t.Fatalf("invoke response %q: %v", body, err)
		}
		return r
	}

	got := query()
	wantRows := [][]string{{"1", "Joe", hpIP}, {"2", "Bob", hpIP}, {"3", "Mary", hpIP}}
	if got.functionError != "" || fmt.Sprint(got.payload["columns"]) != "[empid name client]" || fmt.Sprint(got.payload["rows"]) != fmt.Sprint(wantRows) {
		t.Fatalf("the function's query (%q): %v, want rows %v seen from the Hyperplane ENI", got.functionError, got.payload, wantRows)
	}

	ec2(append([]string{"revoke-security-group-ingress"}, ingress...)...)
	eventuallyWithin(t, 20*time.Second, func() bool {
		got = query()
		return got.functionError != ""
	}, "revoking the rule makes the query fail")
	msg, _ := got.payload["errorMessage"].(string)
	if got.functionError != "Unhandled" || !strings.Contains(msg, "Task timed out after 3.00 seconds") || got.payload["rows"] != nil {
		t.Fatalf("after the revoke, want the connection attempt to hang until the timeout; got %q %v", got.functionError, got.payload)
	}
	if got.took < 3*time.Second {
		t.Fatalf("a timed-out invoke returned after %v", got.took)
	}

	term := jget(ec2("terminate-instances", "--instance-ids", instanceID), "TerminatingInstances").([]any)
	if len(term) != 1 || jstr(term[0], "CurrentState.Name") != "shutting-down" {
		t.Fatalf("terminate-instances: %v", term)
	}
	if out, errOut, code := s.cli(t, "ec2", "wait", "instance-terminated", "--instance-ids", instanceID); code != 0 {
		t.Fatalf("wait instance-terminated: %s%s", out, errOut)
	}
	eventually(t, func() bool { return len(postgresIn(dir)) == 0 }, "terminating the instance stops its postgres")
}

// requirePostgres returns the directory of the newest PostgreSQL server
// binaries Debian installed, and checks that the user to run them exists.
func requirePostgres(t *testing.T) string {
	t.Helper()
	found, _ := filepath.Glob("/usr/lib/postgresql/*/bin/postgres")
	if _, err := user.Lookup("postgres"); err != nil || len(found) == 0 {
		skipOrFail(t, "PostgreSQL is not installed (Debian package postgresql)")
	}
	slices.SortFunc(found, func(a, b string) int { return majorOf(a) - majorOf(b) })
	return filepath.Dir(found[len(found)-1])
}

func majorOf(bin string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(bin))))
	return n
}

// postgresIn lists the processes working in dir or below it: postgres
// and every backend it forks run in their data directory.
func postgresIn(dir string) []int {
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cwd, err := os.Readlink(filepath.Join("/proc", e.Name(), "cwd"))
		if err == nil && (cwd == dir || strings.HasPrefix(cwd, dir+"/")) {
			pids = append(pids, pid)
		}
	}
	return pids
}
