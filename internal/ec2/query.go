package ec2

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"time"

	"github.com/lambdaplane/lambdaplane/internal/awswire"
	"github.com/lambdaplane/lambdaplane/internal/gateway"
	"github.com/lambdaplane/lambdaplane/internal/iam"
	"github.com/lambdaplane/lambdaplane/internal/iam/policy"
)

const (
	apiVersion = "2016-11-15"
	xmlns      = "http://ec2.amazonaws.com/doc/2016-11-15/"
	// maxFormKeys bounds how many parameters one request may carry, so that
	// list decoding stays cheap for hostile forms.
	maxFormKeys = 5000
)

// handler runs one EC2 action; its result is encoded as the children of
// <ActionResponse>.
type handler func(c *call) (any, error)

var handlers = map[string]handler{}

// handle registers an action; each resource's file registers its own.
func handle(action string, h handler) {
	if _, dup := handlers[action]; dup {
		panic("ec2: action registered twice: " + action)
	}
	handlers[action] = h
}

// call is one request being served.
type call struct {
	s      *Service
	ctx    context.Context
	req    *gateway.Request
	action string
	form   url.Values
	acct   string
	region string
	now    time.Time
}

// decode fills dst from the request's parameters.
func (c *call) decode(dst any) error {
	return decodeForm(c.form, dst)
}

// authorize asks IAM whether the caller may perform this call's action on
// resource ("*" for actions without resource-level permissions). A DryRun
// request stops here either way, as AWS answers it.
func (c *call) authorize(resource string, dryRun bool) error {
	if c.s.authz != nil {
		d, req := c.s.authz.Authorize(c.ctx, c.req.Principal, iam.Check{Action: "ec2:" + c.action, Resource: resource})
		if !d.Allowed {
			return errUnauthorized(policy.DenialMessage(req, d, policy.StyleEC2))
		}
	}
	if dryRun {
		return errDryRun()
	}
	return nil
}

// arn is the ARN of a resource of this call's account and region.
func (c *call) arn(resourceType, id string) string {
	return "arn:aws:ec2:" + c.region + ":" + c.acct + ":" + resourceType + "/" + id
}

// ServeHTTP serves the EC2 Query API.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	req := gateway.FromContext(r.Context())
	form, err := awswire.ParseForm(r, req.Body)
	if err != nil {
		awswire.WriteError(w, awswire.EC2, req.ID, err)
		return
	}
	if len(form) > maxFormKeys {
		awswire.WriteError(w, awswire.EC2, req.ID, errInvalidParam("The request has too many parameters."))
		return
	}
	action, version := form.Get("Action"), form.Get("Version")
	if action == "" {
		awswire.WriteError(w, awswire.EC2, req.ID, apiError("MissingAction", "The request must contain the parameter Action"))
		return
	}
	h := handlers[action]
	if h == nil {
		awswire.WriteError(w, awswire.EC2, req.ID, apiError("InvalidAction", "The action %s is not valid for this web service.", action))
		return
	}
	if version == "" {
		awswire.WriteError(w, awswire.EC2, req.ID, errMissing("Version"))
		return
	}
	c := &call{s: s, ctx: r.Context(), req: req, action: action, form: form,
		acct: req.Principal.Account, region: req.Region, now: s.now().UTC()}
	if err := s.ensureDefaults(c); err != nil {
		s.fail(w, c, err)
		return
	}
	out, err := h(c)
	if err != nil {
		s.fail(w, c, err)
		return
	}
	body, err := encodeResponse(action, req.ID, out)
	if err != nil {
		s.fail(w, c, err)
		return
	}
	h2 := w.Header()
	h2["Content-Type"] = []string{"text/xml;charset=UTF-8"}
	h2["Content-Length"] = []string{strconv.Itoa(len(body))}
	w.WriteHeader(http.StatusOK)
	w.Write(body)
}

func (s *Service) fail(w http.ResponseWriter, c *call, err error) {
	if _, ok := err.(*awswire.Error); !ok {
		s.log.Error("ec2 request failed", "id", c.req.ID, "action", c.action, "err", err)
	}
	awswire.WriteError(w, awswire.EC2, c.req.ID, err)
}

// encodeResponse renders <ActionResponse xmlns><requestId/>...fields of
// out...</ActionResponse>.
func encodeResponse(action, requestID string, out any) ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n<")
	buf.WriteString(action)
	buf.WriteString(`Response xmlns="` + xmlns + `">` + "\n    <requestId>")
	xml.EscapeText(&buf, []byte(requestID))
	buf.WriteString("</requestId>")
	start := buf.Len()
	if out != nil {
		if err := appendXML(&buf, reflect.ValueOf(out)); err != nil {
			return nil, err
		}
		if verifyXML {
			if err := sameAsEncodingXML(buf.Bytes()[start:], out); err != nil {
				return nil, err
			}
		}
	}
	buf.WriteString("\n</")
	buf.WriteString(action)
	buf.WriteString("Response>")
	return buf.Bytes(), nil
}

// verifyXML makes every answer also go through encoding/xml and fail when
// the two differ; the package's tests turn it on.
var verifyXML bool

func sameAsEncodingXML(got []byte, out any) error {
	var want bytes.Buffer
	if err := fallbackXML(&want, reflect.ValueOf(out)); err != nil {
		return err
	}
	if !bytes.Equal(got, want.Bytes()) {
		return fmt.Errorf("ec2: XML answer differs from encoding/xml's:\n got %s\nwant %s", got, want.Bytes())
	}
	return nil
}

// returnTrue is the whole result of actions that answer only <return>.
type returnTrue struct {
	Return bool `xml:"return"`
}

var okResult = returnTrue{Return: true}

// List is a list member AWS always sends, empty or not, as an element of
// <item>s.
type List[T any] []T

func (l List[T]) MarshalXML(e *xml.Encoder, start xml.StartElement) error {
	if err := e.EncodeToken(start); err != nil {
		return err
	}
	item := xml.StartElement{Name: xml.Name{Local: "item"}}
	for i := range l {
		if err := e.EncodeElement(l[i], item); err != nil {
			return err
		}
	}
	return e.EncodeToken(start.End())
}

// timestamp is how EC2 writes times.
func timestamp(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}
