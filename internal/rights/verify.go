package rights

import (
	"context"
	"crypto/hmac"
	"encoding/base64"
	"errors"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/trustee-privacy/trustee/internal/audit"
	"github.com/trustee-privacy/trustee/internal/store"
	"github.com/trustee-privacy/trustee/internal/tenant"
	"github.com/trustee-privacy/trustee/internal/vault"
)

// One-time codes. A code is CodeDigits random digits, emailed to the
// address on file; only its MAC under the tenant's index key (kind
// "rights-code:v1", over the request id and the code) is stored, so a copy
// of the database does not reveal outstanding codes and a code is bound to
// its request. A code is single use, expires after CodeTTL, and after
// MaxCodeAttempts wrong tries it is void: a new one must be sent. Codes are
// never logged or audited.

// CodeDigits is the length of a one-time code.
const CodeDigits = 8

const codeKind = "rights-code:v1"

func (s *Service) codeMAC(ctx context.Context, tenantID, requestID, code string) ([]byte, error) {
	return s.Keys.BlindIndex(ctx, tenantID, codeKind, requestID+":"+code)
}

// newCode makes a code for r, storing its MAC and expiry in r's state.
func (s *Service) newCode(ctx context.Context, r *Request, now time.Time) (string, error) {
	code := randomDigits(CodeDigits)
	mac, err := s.codeMAC(ctx, r.TenantID, r.ID, code)
	if err != nil {
		return "", err
	}
	v := &r.State.Verification
	v.CodeMAC, v.CodeExpires, v.CodeSentAt, v.Attempts, v.NoContact = mac, now.Add(CodeTTL), now, 0, false
	return code, nil
}

func (s *Service) sendCode(tx store.Tx, a *tenant.Active, r *Request, to, code string) error {
	// One message per code: the dedupe key names the send time.
	key := "code:" + r.ID + ":" + r.State.Verification.CodeSentAt.Format(time.RFC3339Nano)
	return s.mail(tx, r, to, "rights.verification_code", key, codeMail(a, r, code))
}

// Status tokens let the person who filed a request follow and verify it on
// the public endpoints. A token is the first 16 bytes of a MAC of the
// request id under the tenant's index key (kind "rights-status:v1"): never
// stored, and only the tenant's key can make one.

const statusKind = "rights-status:v1"

// StatusToken returns the status token of a request.
func (s *Service) StatusToken(ctx context.Context, tenantID, requestID string) (string, error) {
	mac, err := s.Keys.BlindIndex(ctx, tenantID, statusKind, requestID)
	if err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(mac[:16]), nil
}

// CheckStatusToken returns ErrNotFound unless token is the request's status
// token, so a wrong token and a missing request look the same.
func (s *Service) CheckStatusToken(ctx context.Context, tenantID, requestID, token string) error {
	if len(token) != 22 || !validID(requestID) {
		return ErrNotFound
	}
	want, err := s.StatusToken(ctx, tenantID, requestID)
	if err != nil {
		return err
	}
	if !hmac.Equal([]byte(token), []byte(want)) {
		return ErrNotFound
	}
	return nil
}

// VerifyInput is a verification of a request.
type VerifyInput struct {
	// Method is email_code, app_token or manual.
	Method string
	// Code is the emailed code (email_code).
	Code string
	// SubjectToken is the application's signed token (app_token).
	SubjectToken string
	// Checked is what staff checked (manual), e.g. "two trusted IDs".
	Checked string
}

// Verify records that the requester's identity is verified, by the method
// given. A wrong or expired code counts an attempt and returns ErrBadCode;
// the fifth wrong attempt voids the code. Verifying a verified request
// changes nothing.
func (s *Service) Verify(ctx context.Context, tenantID, id string, in VerifyInput, by Actor) (*Request, error) {
	switch in.Method {
	case MethodEmailCode:
		in.Code = strings.TrimSpace(in.Code)
		if in.Code == "" || len(in.Code) > 32 {
			return nil, inputErr("code", "give the code from the email")
		}
	case MethodAppToken:
		if in.SubjectToken == "" {
			return nil, inputErr("token", "give the subject token from the application")
		}
	case MethodManual:
		in.Checked = strings.TrimSpace(in.Checked)
		if in.Checked == "" || len(in.Checked) > maxStaffNote || !utf8.ValidString(in.Checked) {
			return nil, inputErr("checked", "say what was checked (at most %d bytes), e.g. two trusted IDs", maxStaffNote)
		}
	default:
		return nil, inputErr("method", "must be email_code, app_token or manual")
	}
	now := s.now()
	// The MACs need the key store, which cannot be used inside a write.
	var codeMAC []byte
	var tokenSubject string
	if in.Method == MethodEmailCode {
		var err error
		if codeMAC, err = s.codeMAC(ctx, tenantID, id, in.Code); err != nil {
			return nil, err
		}
	}
	if in.Method == MethodAppToken {
		sub, err := VerifyToken(ctx, s.Keys, tenantID, in.SubjectToken, now)
		if err != nil {
			if errors.Is(err, ErrBadToken) {
				return nil, ErrBadToken
			}
			return nil, err
		}
		tokenSubject = sub
	}
	var bad error
	r, err := s.update(ctx, tenantID, id, func(tx store.Tx, r *Request, a *tenant.Active) error {
		bad = nil
		if final(r.Status) {
			return stateErr("the request is %s", r.Status)
		}
		v := &r.State.Verification
		if v.Verified() {
			return nil
		}
		if !methodAllowed(v.Level, in.Method) {
			return inputErr("method", "the policy requires %s verification for this request (or manual verification by staff)", v.Level)
		}
		switch in.Method {
		case MethodEmailCode:
			ok := len(v.CodeMAC) > 0 && now.Before(v.CodeExpires) && v.Attempts < MaxCodeAttempts && hmac.Equal(v.CodeMAC, codeMAC)
			if !ok {
				v.Attempts++
				reason := "wrong or expired code"
				if v.Attempts >= MaxCodeAttempts {
					v.CodeMAC = nil
					reason = "too many wrong codes; a new code is needed"
				}
				bad = ErrBadCode
				return s.record(tx, r, by, "request.verify", audit.OutcomeDenied, reason, now)
			}
			v.CodeMAC, v.Attempts = nil, 0
		case MethodAppToken:
			if r.SubjectID == "" || tokenSubject != r.SubjectID {
				bad = ErrBadToken
				return s.record(tx, r, by, "request.verify", audit.OutcomeDenied, "subject token of another subject", now)
			}
		case MethodManual:
			v.Checked = in.Checked
		}
		v.Method, v.VerifiedAt, v.VerifiedBy = in.Method, now, by.ID
		v.CodeMAC = nil // any outstanding code is void once verified
		to := r.Status
		if r.Status == StatusVerifying || r.Status == StatusReceived {
			to = StatusInProgress
		}
		note := "identity verified (" + in.Method + ")"
		if in.Method == MethodManual {
			note += ": " + in.Checked
		}
		return s.transition(tx, r, to, by, note, "request.verify", "method "+in.Method, now)
	})
	if err != nil {
		return nil, err
	}
	if bad != nil {
		return r, bad
	}
	return r, nil
}

// methodAllowed says whether a verification method satisfies a policy
// level: the level's own method; manual, where staff record what they
// checked, for any level; and a subject token where an emailed code is
// asked for (the application has already authenticated the person).
func methodAllowed(level, method string) bool {
	return method == level || method == MethodManual || (level == MethodEmailCode && method == MethodAppToken)
}

// record stores r's changed state without a status change, with a history
// row only for outcome ok, and an audit event.
func (s *Service) record(tx store.Tx, r *Request, by Actor, action, outcome, reason string, at time.Time) error {
	r.UpdatedAt = at
	if err := r.encodeState(); err != nil {
		return err
	}
	if err := tx.UpdateRequest(r.Request); err != nil {
		return err
	}
	r.Version++
	return s.Audit.Append(tx, r.TenantID, audit.Event{Actor: by.ID, Role: by.Role, RequestID: by.RequestID, Action: action,
		SubjectID: r.SubjectID, Outcome: outcome, Reason: "request " + r.ID + " " + reason, At: at})
}

func (s *Service) auditEvent(tx store.Tx, r *Request, by Actor, action, reason string, at time.Time) error {
	return s.Audit.Append(tx, r.TenantID, audit.Event{Actor: by.ID, Role: by.Role, RequestID: by.RequestID, Action: action,
		SubjectID: r.SubjectID, Outcome: audit.OutcomeOK, Reason: "request " + r.ID + " " + r.Type + " " + reason, At: at})
}

// ResendCode sends a new code for a request awaiting email verification,
// voiding the old one. With no address on file it does nothing and says
// nothing different, so the answer never reveals whether the person is
// known.
func (s *Service) ResendCode(ctx context.Context, tenantID, id string, by Actor) error {
	r, err := s.Get(ctx, tenantID, id)
	if err != nil {
		return err
	}
	if final(r.Status) || r.Verified() || r.State.Verification.Level != MethodEmailCode || r.SubjectID == "" {
		return nil
	}
	if sent := r.State.Verification.CodeSentAt; !sent.IsZero() && s.now().Sub(sent) < time.Minute {
		return nil // at most one code a minute
	}
	contact, err := s.Vault.ContactEmail(ctx, tenantID, r.SubjectID, "request "+r.ID, vault.Actor{ID: by.ID, Role: by.Role, RequestID: by.RequestID})
	if errors.Is(err, vault.ErrNoContact) || errors.Is(err, vault.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	code := randomDigits(CodeDigits)
	mac, err := s.codeMAC(ctx, tenantID, id, code)
	if err != nil {
		return err
	}
	now := s.now()
	_, err = s.update(ctx, tenantID, id, func(tx store.Tx, r *Request, a *tenant.Active) error {
		v := &r.State.Verification
		v.CodeMAC, v.CodeExpires, v.CodeSentAt, v.Attempts = mac, now.Add(CodeTTL), now, 0
		if err := s.sendCode(tx, a, r, contact, code); err != nil {
			return err
		}
		return s.record(tx, r, by, "request.code_sent", audit.OutcomeOK, "new verification code sent", now)
	})
	return err
}
