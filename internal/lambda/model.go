// Package lambda is the Lambda service: functions, versions, aliases, their
// states, and the invoke path (scheduler, warm pools, the async queue). Its
// wire adapter is restapi.go; everything else is domain logic that neither
// parses requests nor touches the kernel.
package lambda

import (
	"fmt"
	"time"
)

const (
	latest = "$LATEST"

	stateActive  = "Active"
	statePending = "Pending"
	stateFailed  = "Failed"

	updateSuccessful = "Successful"
	updateInProgress = "InProgress"
	updateFailed     = "Failed"

	reasonCreating  = "Creating"
	creatingMessage = "The function is being created."

	// lastModifiedLayout is how Lambda renders LastModified.
	lastModifiedLayout = "2006-01-02T15:04:05.000-0700"
)

// Config is one version's configuration: $LATEST's, or a published version's
// frozen copy.
type Config struct {
	Version          string            `json:"version"`
	Runtime          string            `json:"runtime"`
	Role             string            `json:"role"`
	Handler          string            `json:"handler"`
	Description      string            `json:"description"`
	Timeout          int               `json:"timeout"`
	MemorySize       int               `json:"memorySize"`
	EphemeralStorage int               `json:"ephemeralStorage"`
	Environment      map[string]string `json:"environment,omitempty"`
	Architectures    []string          `json:"architectures"`
	TracingMode      string            `json:"tracingMode"`
	CodeSha256       string            `json:"codeSha256"` // base64, as Lambda shows it
	CodeSize         int64             `json:"codeSize"`
	CodeUnzipped     int64             `json:"codeUnzipped"`
	LastModified     time.Time         `json:"lastModified"`
	RevisionID       string            `json:"revisionId"`
	// VPC is nil for a function that was never connected to a VPC.
	VPC *VpcConfig `json:"vpc,omitempty"`

	State                      string `json:"state"`
	StateReason                string `json:"stateReason,omitempty"`
	StateReasonCode            string `json:"stateReasonCode,omitempty"`
	LastUpdateStatus           string `json:"lastUpdateStatus,omitempty"`
	LastUpdateStatusReason     string `json:"lastUpdateStatusReason,omitempty"`
	LastUpdateStatusReasonCode string `json:"lastUpdateStatusReasonCode,omitempty"`
}

// Function is the stored record of a function: its $LATEST configuration and
// what belongs to the function as a whole.
type Function struct {
	Account string `json:"account"`
	Region  string `json:"region"`
	Name    string `json:"name"`
	Latest  Config `json:"latest"`
	// Previous is $LATEST as it was before the update in progress;
	// invocations keep running it until the update completes.
	Previous *Config `json:"previous,omitempty"`
	// LastPublished is the highest version number ever published; numbers
	// are never reused, even after a version is deleted.
	LastPublished       int               `json:"lastPublished"`
	Tags                map[string]string `json:"tags,omitempty"`
	ReservedConcurrency *int              `json:"reservedConcurrency,omitempty"`
	// Policies are the function's resource-based policies by qualifier
	// ("" for the unqualified function).
	Policies map[string]*ResourcePolicy `json:"policies,omitempty"`
	Created  time.Time                  `json:"created"`
}

// Alias points a name at a version, optionally splitting traffic with a second one.
type Alias struct {
	Name            string             `json:"name"`
	FunctionVersion string             `json:"functionVersion"`
	Description     string             `json:"description"`
	Weights         map[string]float64 `json:"weights,omitempty"`
	RevisionID      string             `json:"revisionId"`
}

// fnID names one function.
type fnID struct{ Account, Region, Name string }

func (id fnID) arn() string {
	return "arn:aws:lambda:" + id.Region + ":" + id.Account + ":function:" + id.Name
}

func (id fnID) qualifiedARN(q string) string {
	if q == "" {
		return id.arn()
	}
	return id.arn() + ":" + q
}

func (f *Function) id() fnID { return fnID{f.Account, f.Region, f.Name} }

// Store keys. Published versions and aliases live under their function so a
// prefix list finds them all.
func fnKey(id fnID) string { return "lambda/fn/" + id.Account + "/" + id.Region + "/" + id.Name }
func versionKey(id fnID, n int) string {
	return fmt.Sprintf("lambda/ver/%s/%s/%s/%010d", id.Account, id.Region, id.Name, n)
}
func versionPrefix(id fnID) string {
	return "lambda/ver/" + id.Account + "/" + id.Region + "/" + id.Name + "/"
}
func aliasKey(id fnID, name string) string {
	return "lambda/alias/" + id.Account + "/" + id.Region + "/" + id.Name + "/" + name
}
func aliasPrefix(id fnID) string {
	return "lambda/alias/" + id.Account + "/" + id.Region + "/" + id.Name + "/"
}
