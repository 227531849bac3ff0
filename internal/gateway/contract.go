package gateway

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/lambdaplane/lambdaplane/internal/awswire"
)

// Principal is who signed a request.
type Principal struct {
	Account     string // 12-digit account id
	ARN         string // arn:aws:iam::123456789012:root, ...:user/NAME, arn:aws:sts::...:assumed-role/ROLE/SESSION
	UserID      string // the caller's unique id as GetCallerIdentity shows it (the account id for root)
	AccessKeyID string
	IsRoot      bool
}

// Credential is what a CredentialSource knows about an access key.
type Credential struct {
	Secret string
	// SessionToken is non-empty for temporary credentials; a request signed
	// with them must carry the same token in X-Amz-Security-Token.
	SessionToken string
	Expires      time.Time // zero for long-term keys
	Principal    Principal
}

// ErrUnknownAccessKey is returned by a CredentialSource for a key it does not know.
var ErrUnknownAccessKey = errors.New("unknown access key")

// CredentialSource resolves access keys. The account list from --account is
// one; IAM users' keys and STS sessions extend it.
type CredentialSource interface {
	LookupAccessKey(ctx context.Context, accessKeyID string) (Credential, error)
}

// Request is what the gateway learned about a verified request; services get
// it from the request context with FromContext.
type Request struct {
	ID        string // also sent as x-amzn-RequestId
	Service   string // signing name from the credential scope: lambda, sts, iam, ec2, logs, ...
	Region    string // from the credential scope
	Principal Principal
	Received  time.Time
	// Body is the whole request body, already read for the payload hash
	// (r.Body is replaced by a reader over the same bytes).
	Body []byte
	// SourceIP is the client address without port.
	SourceIP string
	// Secure is true when the request arrived over TLS.
	Secure bool
}

type ctxKey struct{}

// WithRequest returns ctx carrying req.
func WithRequest(ctx context.Context, req *Request) context.Context {
	return context.WithValue(ctx, ctxKey{}, req)
}

// FromContext returns the verified request, or nil outside the gateway.
func FromContext(ctx context.Context) *Request {
	r, _ := ctx.Value(ctxKey{}).(*Request)
	return r
}

// Service is one AWS service behind the gateway, keyed by its signing name.
type Service struct {
	SigningName string
	Protocol    awswire.Protocol
	// MaxBody is the largest request body accepted (bytes); larger bodies are
	// refused before verification with TooLarge. 0 means 10 MiB.
	MaxBody int64
	// TooLarge is the error for a body over MaxBody (nil: a generic 413).
	TooLarge *awswire.Error
	Handler  http.Handler
}
